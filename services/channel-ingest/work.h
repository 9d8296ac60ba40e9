/* work.h — the work API's resources: written as events, read back from
 * the router's tables once the router has applied them.
 *
 *   agents.c   POST/GET/PATCH /v1/agents          agent.saved
 *   teams.c    POST/GET/PATCH /v1/teams           team.saved
 *   canned.c   /v1/canned-replies                 canned.saved, canned.deleted
 *
 * The router owns these tables and applies the events asynchronously, so
 * every read here first waits (suspended, bounded) until the router's
 * offset on the ingest stream has passed the last such event this process
 * committed (in->work_mark, await.h; after a start, the stream's end as it was
 * then): a client reads its own writes. A write is answered once the
 * router has applied it, with the resource as the router's SQL function
 * shows it (201 for a new one, 200 for a change or a repeat of an
 * Idempotency-Key, 204 for a deletion) — one shape for reads and writes,
 * built in one place; a router too far behind makes the answer 202 with
 * {"event_id","seq","status":"accepted"}: the write is durable, the read
 * comes later. Past the bound, a read answers 503 with Retry-After.
 *
 * The parsers are pure (unit-tested): a JSON body in, the event out,
 * strings borrowed from the body; each mistake names its field.
 */
#ifndef WORK_H
#define WORK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "await.h"
#include "event.h"
#include "field.h"
#include "id.h"
#include "ops.h"
#include "password.h"

#define WORK_POLL_MS 20
#define WORK_WAIT_MS 5000
#define WORK_MAX_LANGUAGES 8
#define WORK_MAX_MASK 12
#define WORK_MAX_PARAMS 8
/* The router's consumer name in eventlog.offsets. */
#define WORK_ROUTER "router"

struct write_req;
struct pg_result;

/* One write's event and what it points into, and the flow's state. */
struct work_write {
    event ev;
    Google__Protobuf__Timestamp occurred;
    union {
        Carebus__V1__AgentSaved agent;
        Carebus__V1__TeamSaved team;
        Carebus__V1__CannedSaved canned;
        Carebus__V1__CannedDeleted canned_deleted;
    } body;
    char *teams[OP_MAX_TEAMS];
    char *languages[WORK_MAX_LANGUAGES];
    char *mask[WORK_MAX_MASK];
    char id[ID_LEN];      /* a new canned reply's (a repeat's: the first's) */
    const char *password; /* agents: as given (borrowed), hashed before the event */
    bool clear_password;  /* PATCH "password": null */
    json_t *keep;         /* what the event's strings point into besides the body */
    char hash[PASSWORD_HASH_MAX];
    /* the flow (work.c) */
    const char *one_sql; /* $1: the resource's id -> its JSON in column 0 */
    const char *rid;     /* the resource's id */
    unsigned status;     /* the answer once applied: 201, 200 or 204 */
    char *params[WORK_MAX_PARAMS];
    int nparams;
    const char *sql;
    void (*read_done)(struct write_req *w, struct pg_result *res);
    struct await wait;   /* for the router */
    bool waiting_commit; /* after the commit: a late router makes it 202 */
    uint64_t seq;
    char event_id[ID_LEN];
};

/* --- the parsers (0, or -1 with err) ---------------------------------------------
 *
 * agents.c: POST {"id", "name", "capacity", "email"?, "teams"?, "languages"?,
 * "role"? agent|lead|supervisor, "active"? (default true), "password"?
 * (PASSWORD_MIN..PASSWORD_MAX bytes, left in s->password to be hashed)} ->
 * a whole agent.saved; PATCH: any of them but id (at least one; "password":
 * null removes it) -> agent.saved with the update mask of the fields given. */
int agents_create_parse(const json_t *root, int64_t now_us, struct work_write *s,
                        struct message_error *err);
int agents_update_parse(const json_t *root, const char *id, int64_t now_us, struct work_write *s,
                        struct message_error *err);
/* teams.c: POST {"id", "name"?, "lead_agent_id"?, "calendar"?, "sla_policy"?,
 * "active"?}; PATCH: any of them but id, masked like agents. */
int teams_create_parse(const json_t *root, int64_t now_us, struct work_write *s,
                       struct message_error *err);
int teams_update_parse(const json_t *root, const char *id, int64_t now_us, struct work_write *s,
                       struct message_error *err);
/* canned.c: POST {"title", "text", "language"?, "team"?, "shortcut"?} with
 * a new id (the text's placeholders checked); PATCH: any of them, the
 * fields given listed in s->mask (the handler fills the others from the
 * reply as it stands). */
int canned_create_parse(const json_t *root, int64_t now_us, struct work_write *s,
                        struct message_error *err);
int canned_update_parse(const json_t *root, const char *id, int64_t now_us, struct work_write *s,
                        struct message_error *err);

/* --- the flow (work.c) ---------------------------------------------------------- */

/* Zeroes s and starts its envelope (occurred at now_us). */
void work_init(struct work_write *s, int64_t now_us);
/* work_init, then 0 when the body is a JSON object, else -1 with err. */
int work_begin(struct work_write *s, const json_t *root, int64_t now_us, struct message_error *err);
/* A PATCH's update mask: lists in s->mask each of the n members the body
 * has (null too), in the members' order; returns how many. */
size_t work_mask(struct work_write *s, const json_t *root, const char *const *members, size_t n);
/* Sets the envelope's body case and type. */
void work_finish(struct work_write *s, Carebus__V1__Envelope__BodyCase body);

/* True when the body has key with a value other than null. */
bool work_present(const json_t *root, const char *key);

/* Runs sql (params copied) on the read queue once the router has applied
 * this process's writes, and calls done with its rows (a failed statement,
 * a down database or a router too far behind are answered here). */
int work_read(struct write_req *w, const char *sql, int nparams, const char *const *params,
              void (*done)(struct write_req *w, struct pg_result *res));
/* The same, answering the flow's resource (w->u.work.one_sql, rid): 200
 * with its JSON, or 404 ("no <what> with id ...") when there is none. */
int work_read_one(struct write_req *w, const char *what);

/* A work_read callback: answers 200 with row 0's column 0 (JSON text). */
void work_answer_first(struct write_req *w, struct pg_result *res);

/* Submits the event (w->u.work.ev): once committed and applied, answers
 * w->u.work.status with the resource as read by one_sql (a repeat of an
 * Idempotency-Key 200), or 202 when the router is late. */
void work_submit(struct write_req *w);

/* The first cell of row 0 as JSON (NULL when there is no row or it is
 * NULL). */
json_t *work_row_json(const struct pg_result *res);

/* Answers 404 for the resource. */
void work_not_found(struct write_req *w, const char *what);

#endif
