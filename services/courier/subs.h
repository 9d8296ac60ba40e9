/* subs.h — the integrators' webhook subscriptions, in memory.
 *
 * courier.subscriptions is the truth (written in the consumer's transaction
 * from subscription.saved / .deleted, and by the pause); this table mirrors
 * it for the consumer (which subscriptions an event goes to: an index per
 * event type, rebuilt when a subscription changes) and for the pump (the
 * URL and signing key at the moment of each attempt, so that a changed URL
 * or a rotated secret applies to deliveries still pending). The static
 * subscriptions of CAREBUS_OUTBOUND_WEBHOOK_URLS (survey.requested, never
 * paused) live here only.
 *
 * A change made inside a transaction that then rolls back is undone by
 * subs_invalidate: the next use reloads from PostgreSQL.
 */
#ifndef CAREBUS_COURIER_SUBS_H
#define CAREBUS_COURIER_SUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "event.h"
#include "id.h"
#include "webhook.h"

struct sub {
    char id[ID_LEN];
    char *url;
    char *secret;
    char *description;
    char **types; /* patterns */
    size_t ntypes;
    char **channels; /* message.outbound's channels filter; none: all */
    size_t nchannels;
    bool active;
    bool paused;
    bool is_static;
    int64_t created_us, updated_us;
    unsigned char key[WEBHOOK_KEY_MAX]; /* the signing key of secret */
    size_t keylen;                      /* 0: the secret is unusable: unsigned */
};

typedef struct subs subs;

/* static_urls: CAREBUS_OUTBOUND_WEBHOOK_URLS (borrowed, outlive the table),
 * static_secret their secret or NULL. NULL when out of memory. */
subs *subs_new(char *const *static_urls, size_t nstatic, const char *static_secret);
void subs_destroy(subs **ps);

/* Loads the table unless it is loaded. 0, or -1 (database). Blocks. */
int subs_ensure(subs *s, db *d);
/* Forgets the table: the next subs_ensure reloads it. */
void subs_invalidate(subs *s);

/* Applies subscription.saved (fields outside a non-empty update_mask keep
 * their value) to PostgreSQL and memory; a save that makes it active
 * resumes a paused subscription. recorded_us: the event's time. 0, 1 when
 * the event cannot make a usable subscription (no URL: logged, nothing
 * written), or -1 (database). Blocks. */
int subs_save(subs *s, db *d, const Carebus__V1__SubscriptionSaved *m, int64_t recorded_us);
/* subscription.deleted. 0 or -1. Blocks. */
int subs_delete(subs *s, db *d, const char *id);
/* Marks it paused in memory (the caller wrote PostgreSQL). */
void subs_set_paused(subs *s, const char *id);

/* The subscription, or NULL (deleted, or never known). Borrowed until the
 * table changes. */
const struct sub *subs_find(const subs *s, const char *id);

/* The subscriptions that receive ev now: active, not paused, a pattern
 * matching its type and, for message.outbound, its channel in the filter.
 * out: room for max; *count: how many (never more than max). 0, or -1 when
 * out of memory. */
int subs_for_event(subs *s, const event *ev, const struct sub **out, size_t max, size_t *count);

#endif
