/* router.h — the router: its settings, its event table and its batches.
 *
 * The consumer's handler table (router_handlers) stages the events of a
 * batch that route.c reacts to; router_flush (the consumer's flush hook) orders them
 * with the SLA events whose turn has come (order.h), loads what they touch
 * in a few set-based queries, applies them one by one in memory (route.h)
 * and writes the changes back, one statement per table (store.h), all in
 * the consumer's transaction. Nothing survives the batch outside
 * PostgreSQL, so a rollback leaves nothing behind; times come from the
 * events and ids from their ids, so a replay of the log rebuilds exactly
 * the live state.
 */
#ifndef CAREBUS_ROUTER_ROUTER_H
#define CAREBUS_ROUTER_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "ack.h"
#include "bus.h"
#include "consumer.h"
#include "db.h"
#include "event.h"
#include "rules.h"
#include "service.h"

/* The reopen window's default: seven days. */
#define ROUTER_REOPEN_WINDOW_S (7 * 24 * 3600)
#define ROUTER_CONFIG_DEFAULT "deploy/config/router.json"
#define ROUTER_EMAIL_DOMAIN_DEFAULT "carebus.local"

typedef struct router {
    rules *rules;        /* in force; replaced by a successful reload */
    char *config_path;   /* NULL: the built-in rules */
    ack *ack;            /* acknowledgements; NULL: none (reloaded like the rules) */
    char *ack_path;      /* NULL: no acknowledgements file */
    const char *country; /* whose national phone numbers (identity.h) */
    const char *email_domain;
    int64_t reopen_window_us;
    int64_t offline_grace_us;  /* CAREBUS_OFFLINE_GRACE_S (offline.h) */
    int64_t retention_s;       /* CAREBUS_RETENTION_S (retention.h); 0: off */
    int64_t retention_next_ms; /* monotonic: the next look for customers due */
    bool teams_seeded;         /* the file's teams are in router.teams (teams.h) */
    consumer *consumer;        /* borrowed (router_attach) */
    db *db;
    bus *bus;
    /* The batch being staged: "ingest" events, in the log's order with the
     * SLA events (order.h), and the others (delivery statuses of the
     * "courier" stream), which fold in any order and come after them. */
    const event **staged, **side;
    size_t nstaged, cap, nside, sidecap;
    uint64_t batches, routed; /* since start */
} router;

/* Settings from the environment (CAREBUS_ROUTER_CONFIG,
 * CAREBUS_REOPEN_WINDOW_S, CAREBUS_OFFLINE_GRACE_S, CAREBUS_EMAIL_DOMAIN, CAREBUS_ACK_CONFIG,
 * CAREBUS_ACK_CALENDAR), the rules and the acknowledgements. NULL (logged)
 * on failure: a configured file that does not validate stops the start. */
router *router_new(void);
void router_destroy(router **pr);

/* Gives the router its consumer (installing the flush hook), database
 * and bus (for the events router_tick emits). */
void router_attach(router *r, consumer *c, db *d, bus *b);

/* The consumer's handler table (consumer.h; arg: the router): every body
 * route.c reacts to, from the stream route.c's table names, is staged for
 * the flush. Derived from route.c's table, so the two cannot disagree. *n
 * gets its size. SLA events need no entry: they are read from the log when
 * their turn comes (order.h), and their delivery only runs the flush. */
const struct consumer_handler *router_handlers(size_t *n);
/* consumer_flush_fn: routes the staged batch. */
consumer_result router_flush(consumer_txn *tx, void *arg);

/* Makes the router s's consumer of the ingest, sla and courier streams,
 * with its SIGHUP reload and its once-a-second tick on s's loop. 0 or -1. */
#define ROUTER_TICK_MS 1000
/* Events a transaction routes at most. A batch costs the same few round
 * trips whatever its size (router.c), so a catch-up gains from large ones;
 * live, a batch is what the bus holds when the router gets to it. */
#define ROUTER_BATCH 5000
int router_start(router *r, service *s);

/* /readyz (arg: the router): connected, and the configuration's teams
 * written into router.teams (done here first, so that the API finds them
 * as soon as the router is ready). */
bool router_ready(void *arg);

/* SIGHUP: re-reads the configuration files; a bad one is logged and what
 * is in force is kept. */
void router_reload(void *arg);

/* Once a second: writes the configuration's teams after a start or a
 * reload (teams.h), decides on the tickets of agents offline beyond the
 * grace period or inactive (offline.h), and applies SLA events whose turn
 * has come while no batch arrives (after a restart, with the ingest
 * stream idle), each in a transaction of its own. 0, or -1 when the
 * database failed (retried at the next tick). */
int router_tick(router *r);

#endif
