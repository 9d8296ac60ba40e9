/* subscriptions.h — the integrators' webhook subscriptions, through the API.
 *
 *   POST   /v1/webhook-subscriptions        subscription.saved (whole)   201
 *   GET    /v1/webhook-subscriptions        courier.subscriptions        200
 *   GET    /v1/webhook-subscriptions/{id}   one row of it                200
 *   PATCH  /v1/webhook-subscriptions/{id}   subscription.saved (masked)  200
 *   DELETE /v1/webhook-subscriptions/{id}   subscription.deleted         204
 *
 * Writes are events on the ingest stream; courier applies them to
 * courier.subscriptions (its table, which it alone writes) and delivers.
 * The secret ("whsec_" + base64 of 32 random bytes, the Standard Webhooks
 * form) is made here and answered in full only by the POST that made it
 * (and a PATCH with rotate_secret): reads show its last 4 characters.
 *
 * Reads are consistent for this instance's writers: courier applies events
 * asynchronously, so a read first waits (suspended, bounded) until
 * courier's offset on the ingest stream has passed the last subscription
 * event this process committed (after a restart: the stream's end as it
 * was then); past the bound it answers 503. POST and PATCH answer from the
 * request itself, without waiting.
 *
 * The parsers are pure (unit-tested): a JSON body in, the event out,
 * strings borrowed from the body; each mistake names its field.
 */
#ifndef SUBSCRIPTIONS_H
#define SUBSCRIPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "await.h"
#include "event.h"
#include "field.h"
#include "id.h"

#define SUB_MAX_TYPES 64
#define SUB_MAX_CHANNELS 32
#define SUB_URL_MAX 2048
#define SUB_DESCRIPTION_MAX 1024
#define SUB_SECRET_PREFIX "whsec_"
#define SUB_SECRET_BYTES 32
/* "whsec_", 44 base64 characters (one "=" of padding), NUL. */
#define SUB_SECRET_LEN (6 + 44 + 1)
#define SUB_HINT_LEN 4

struct write_req;
struct pg_result;

/* One write's event and what it points into. */
struct sub_write {
    event ev;
    Google__Protobuf__Timestamp occurred;
    Carebus__V1__SubscriptionSaved saved;
    Carebus__V1__SubscriptionDeleted deleted;
    char *types[SUB_MAX_TYPES];
    char *channels[SUB_MAX_CHANNELS];
    char *mask[6];
    bool rotate;     /* PATCH: rotate_secret was true */
    char id[ID_LEN]; /* POST: the new subscription's */
    char secret[SUB_SECRET_LEN];
    /* the handlers' state across suspensions (subscriptions.c) */
    json_t *row;         /* PATCH: the subscription as read */
    const char *read_id; /* the read's id (the path's), or NULL: all */
    void (*read_done)(struct write_req *w, struct pg_result *res);
    struct await wait; /* for courier */
};

/* POST's body: {"url", "event_types": [patterns], "channels"?: [names],
 * "description"?, "active"? (default true)} -> a whole subscription.saved
 * (empty update_mask) with a new id. The secret is left empty: see
 * subscriptions_secret_new. 0 or -1 with err. */
int subscriptions_create_parse(const json_t *root, int64_t now_us, struct sub_write *s,
                               struct message_error *err);

/* PATCH's body: any of url, event_types, channels, description, active,
 * and "rotate_secret": true (s->rotate; the secret is then the caller's to
 * make); at least one. The fields given are the update_mask ("secret" for
 * a rotation). id: the path's, borrowed. 0 or -1 with err. */
int subscriptions_update_parse(const json_t *root, const char *id, int64_t now_us,
                               struct sub_write *s, struct message_error *err);

/* DELETE's subscription.deleted. */
void subscriptions_delete_init(const char *id, int64_t now_us, struct sub_write *s);

/* A new secret into out (and s->saved.secret set to it by the callers). 0,
 * or -1 when OpenSSL's random generator failed. */
int subscriptions_secret_new(char out[SUB_SECRET_LEN]);

#endif
