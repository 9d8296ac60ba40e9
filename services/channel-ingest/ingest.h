/* ingest.h — channel-ingest's shared context and its parts.
 *
 * One ingest per process: the write queue (group commit of appends), the
 * read queue (read-backs, lists and searches, existence checks, the API key
 * table's reloads), the bus publisher and the accepted keys (libcarebus
 * auth.h). Reads and writes use separate connections so that a read never
 * waits behind a commit, and the reads a few (CAREBUS_INGEST_READ_CONNS) so
 * that a slow search does not hold up the reads queued behind it. Who may call each route is the
 * route table's access column (routes.c), checked by the guard before any handler runs.
 */
#ifndef INGEST_H
#define INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asset.h"
#include "auth.h"
#include "await.h"
#include "dbq.h"
#include "feed.h"
#include "group_commit.h"
#include "http.h"
#include "service.h"

struct write_req;

typedef struct ingest {
    service *svc;
    dbq *writes;
    dbq *reads;
    group_commit *gc;
    auth *auth;
    feed *feed; /* GET /v1/events, on its own connection */
    /* The ingest seq courier must have applied before a read of the
     * subscriptions (subscriptions.c): this process's last subscription
     * event; until known, the stream's end. */
    struct await_mark subs_mark;
    /* The same for the router and the work API's resources (work.h):
     * this process's last agent, team or canned reply event. */
    struct await_mark work_mark;
    struct hasher *hasher;    /* agents' passwords, off the loop (hasher.h) */
    size_t json_max_depth;    /* CAREBUS_JSON_MAX_DEPTH */
    long session_ttl_s;       /* CAREBUS_SESSION_TTL_S (sessions.c) */
    long signin_failures;     /* CAREBUS_SIGNIN_FAILURES (lockout.h) */
    long signin_lockout_s;    /* CAREBUS_SIGNIN_LOCKOUT_S (lockout.h) */
    int signing_in;           /* POST /v1/sessions in flight (bounded: sessions.c) */
    struct write_req *spares; /* freed write_reqs kept for reuse (write.c) */
    size_t nspares;
} ingest;

/* The route table (routes.c). */
extern const struct http_route ingest_routes[];
extern const size_t ingest_routes_count;
/* Files carried in the binary (assets/: the OpenAPI document). */
extern const struct asset channel_ingest_assets[];
extern const size_t channel_ingest_assets_count;

/* Handlers, one file per endpoint family. */
http_status front_get(http_req *r, void *arg);             /* front.c */
http_status front_openapi(http_req *r, void *arg);         /* front.c */
http_status messages_post(http_req *r, void *arg);         /* messages.c */
http_status readback_event_get(http_req *r, void *arg);    /* readback.c */
http_status feed_get(http_req *r, void *arg);              /* feed.c */
http_status readback_ticket_get(http_req *r, void *arg);   /* readback.c */
http_status tickets_list(http_req *r, void *arg);          /* lists.c */
http_status tickets_timeline(http_req *r, void *arg);      /* lists.c */
http_status customers_tickets(http_req *r, void *arg);     /* lists.c */
http_status queues_get(http_req *r, void *arg);            /* queues.c */
http_status tickets_reply_post(http_req *r, void *arg);    /* tickets.c */
http_status tickets_status_post(http_req *r, void *arg);   /* tickets.c */
http_status tickets_transfer_post(http_req *r, void *arg); /* tickets.c */
http_status tickets_assign_post(http_req *r, void *arg);   /* tickets.c */
http_status tickets_patch(http_req *r, void *arg);         /* tickets.c */
http_status agents_presence_put(http_req *r, void *arg);   /* agents.c */
http_status agents_post(http_req *r, void *arg);           /* agents.c */
http_status agents_list(http_req *r, void *arg);           /* agents.c */
http_status agents_get(http_req *r, void *arg);            /* agents.c */
http_status agents_patch(http_req *r, void *arg);          /* agents.c */
http_status teams_post(http_req *r, void *arg);            /* teams.c */
http_status teams_list(http_req *r, void *arg);            /* teams.c */
http_status teams_get(http_req *r, void *arg);             /* teams.c */
http_status teams_patch(http_req *r, void *arg);           /* teams.c */
http_status canned_post(http_req *r, void *arg);           /* canned.c */
http_status canned_list(http_req *r, void *arg);           /* canned.c */
http_status canned_get(http_req *r, void *arg);            /* canned.c */
http_status canned_patch(http_req *r, void *arg);          /* canned.c */
http_status canned_delete(http_req *r, void *arg);         /* canned.c */
http_status canned_render(http_req *r, void *arg);         /* canned.c */
http_status customers_put(http_req *r, void *arg);         /* customers.c */
http_status customers_get(http_req *r, void *arg);         /* customers.c */
http_status customers_find(http_req *r, void *arg);        /* customers.c */
http_status calls_post(http_req *r, void *arg);            /* calls.c */
http_status subscriptions_post(http_req *r, void *arg);    /* subscriptions.c */
http_status subscriptions_list(http_req *r, void *arg);    /* subscriptions.c */
http_status subscriptions_get(http_req *r, void *arg);     /* subscriptions.c */
http_status subscriptions_patch(http_req *r, void *arg);   /* subscriptions.c */
http_status subscriptions_delete(http_req *r, void *arg);  /* subscriptions.c */
http_status merges_ticket_post(http_req *r, void *arg);    /* merges.c */
http_status merges_customer_post(http_req *r, void *arg);  /* merges.c */
http_status merges_unmerge_post(http_req *r, void *arg);   /* merges.c */
http_status erasure_post(http_req *r, void *arg);          /* erasure.c */
http_status export_get(http_req *r, void *arg);            /* export.c */
http_status imports_customer_post(http_req *r, void *arg); /* imports.c */
http_status imports_bulk_post(http_req *r, void *arg);     /* imports.c */
http_status sessions_post(http_req *r, void *arg);         /* sessions.c */
http_status sessions_get(http_req *r, void *arg);          /* sessions.c */
http_status sessions_delete(http_req *r, void *arg);       /* sessions.c */
http_status keys_post(http_req *r, void *arg);             /* keys.c */
http_status keys_list(http_req *r, void *arg);             /* keys.c */
http_status keys_get(http_req *r, void *arg);              /* keys.c */
http_status keys_delete(http_req *r, void *arg);           /* keys.c */

/* Read-backs (readback.c): runs sql on the read queue and answers its
 * JSON cell (column 0) with 200, or 404 with the message `missing` when
 * there is no row or the cell is NULL. check (may be NULL) sees the row
 * first: false after it answered (403). readback_by_id takes the path's
 * ":id" as $1 (404 without a query when it is not a UUID) and, with a
 * check, the key's channels as $2 (access_channels_param). */
typedef bool (*readback_check_fn)(ingest *in, http_req *r, PGresult *res);
http_status readback_json(ingest *in, http_req *r, const char *sql, int nparams,
                          const char *const *params, const char *what, const char *missing,
                          readback_check_fn check);
http_status readback_by_id(ingest *in, http_req *r, const char *sql, const char *what,
                           readback_check_fn check);

/* True when id (a path's, NULL when absent) is an id; otherwise answers
 * 404 "no <what> with id ..." and returns false: an id that is no id names
 * nothing, as an unknown one does. */
bool ingest_id_ok(http_req *r, const char *what, const char *id);

/* Answers 503 with Retry-After (PostgreSQL down or overloaded). */
void ingest_reply_unavailable(http_req *r);

/* Answers a client error and counts it in
 * carebus_ingest_rejected_total{reason="<reason>"}. field may be NULL. */
void ingest_reject(http_req *r, unsigned status, const char *reason, const char *code,
                   const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
