/* model.h — the part of the router's state that one batch touches, in
 * memory for the length of the batch.
 *
 * A batch is routed in three steps: store_prefetch loads every row its
 * events can reach (customers by handle, their tickets that are not
 * closed, tickets named by id or by a threaded message, all agents) in a
 * few set-based queries; route.c applies the events one by one to this
 * model, in order, emitting events as it goes; store_write writes back what
 * changed, one statement per table. Nothing of the model outlives the
 * batch: it is rebuilt from PostgreSQL for the next one, so a rollback
 * leaves nothing behind (consumer.h's contract).
 *
 * Rows are referred to by index into the model's arrays; indexes stay
 * valid while the arrays grow (they are arrays of values, re-allocated).
 * Times are microseconds since the epoch, MODEL_NONE for SQL NULL.
 */
#ifndef CAREBUS_ROUTER_MODEL_H
#define CAREBUS_ROUTER_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "event.h"
#include "hmap.h"
#include "id.h"
#include "rules.h"

#define MODEL_NONE INT64_MIN

typedef struct m_customer {
    char id[ID_LEN];
    char *name;
    Carebus__V1__Segment segment;
    Carebus__V1__CustomerStatus status;
    int merged_into; /* index of the survivor, -1 */
    int64_t created, updated, merged_at;
    json_t *attr_patch; /* keys a profile update sets (owned), NULL */
    int *tickets;       /* its tickets in the model */
    size_t ntickets, tcap;
    bool is_new, dirty;
    bool idents_loaded; /* its handles are in model.cident (or idnew) */
} m_customer;

typedef struct m_ticket {
    char id[ID_LEN];
    char opened_event_id[ID_LEN];
    char customer_id[ID_LEN]; /* as loaded, until linked to cust */
    /* The customer whose handle opened it: the origin of the opening
     * contact's own handle (unmerge.h). "" as loaded before it was kept. */
    char opened_by[ID_LEN];
    int cust;        /* index of its customer */
    int merged_into; /* index, -1 */
    Carebus__V1__TicketStatus status;
    Carebus__V1__Category category; /* UNSPECIFIED: not classified */
    const char *rule, *phrase;
    int rank;            /* priority 1..4 */
    const char *reasons; /* JSON array of strings */
    const char *team, *assignee, *channel, *subject, *urgent_word;
    int contacts, escalated_rank, reopened;
    int64_t number; /* for people: the ingest seq of its first contact; 0: none */
    int64_t created, updated, assigned, queued, solved, closed, escalated;
    bool is_new, dirty;
    bool hist_loaded; /* its conversation is in model.hist (or msg) */
    /* Manual operations (manual.h): the tags (tag.h: a sorted set); a
     * priority rank and a category set by a person (0: none), and while
     * the category is set so, the rules' own. */
    const char **tags;
    size_t ntags;
    int prio_override;
    Carebus__V1__Category cat_override, cat_rules;
} m_ticket;

typedef struct m_agent {
    const char *id, *name;
    Carebus__V1__Presence presence;
    int capacity, load;
    const char **teams, **leads;
    size_t nteams, nleads;
    int64_t last_active, updated;
    bool dirty;
    /* What agent.saved states (agents.h); saved: when the API last saved
     * it, MODEL_NONE while known by its presence only. offline_since: the
     * recorded_at of the presence that took it offline, and that event's
     * id (offline.h). */
    const char *email, *password_hash;
    const char **languages;
    size_t nlanguages;
    Carebus__V1__AgentRole role;
    bool active;
    int64_t saved, offline_since;
    char offline_event[ID_LEN];
} m_agent;

/* A team: the configuration file's, or saved through the API (teams.h). */
typedef struct m_team {
    const char *id, *name, *lead, *calendar, *sla_policy;
    bool active;
    int64_t saved, created, updated; /* saved: MODEL_NONE for the file's */
    bool dirty;
} m_team;

/* A canned reply saved or deleted by the batch (canned.h): its last state;
 * fresh when it was deleted in the batch before being saved again. */
typedef struct m_canned {
    const char *id, *title, *text, *language, *team, *shortcut;
    int64_t created, updated;
    bool deleted, fresh;
} m_canned;

typedef struct m_message {
    const char *event_id;
    int ticket;
    const char *channel, *direction, *external_id, *subject, *text, *agent_id, *stream;
    int64_t at;
    uint64_t seq;
    const char *attachments; /* JSON array, NULL: none */
    /* What carebus sends: its kind ("reply", "acknowledgement"), delivery id
     * and the handle it goes to ("": none); NULL otherwise. */
    const char *outbound_kind, *delivery_id, *recipient;
} m_message;

/* A status event's row of router.delivery_pending (0010_router_outbound.sql):
 * applied by router.delivery_apply after the batch's messages are written. */
typedef struct m_status {
    const char *event_id;
    int n;
    const char *status; /* "sent", "delivered", "read", "failed" */
    const char *delivery_id, *channel, *provider_message_id, *recipient, *code, *reason;
    int64_t watermark, at; /* watermark: MODEL_NONE unless one */
} m_status;

typedef struct m_note {
    char id[ID_LEN];
    int ticket;
    const char *kind, *text, *detail, *cause_id, *stream;
    int64_t at;
    uint64_t seq;
    int ord;
} m_note;

typedef struct m_identity {
    const char *kind, *value;
    int cust;
    const char *origin; /* the id of the customer it was first known with */
    int64_t created;
} m_identity;

typedef struct m_merge {
    int merged, survivor;
    const char *contact_event_id; /* the contact, or the person's request */
    char event_id[ID_LEN];
    int64_t at;
    const char *actor, *reason; /* a person's merge (merge.h); NULL otherwise */
} m_merge;

/* The customer a customer.imported went to (router.imports): an erasure
 * destroys the import's data key with the customer's others. */
typedef struct m_import {
    const char *event_id;
    int cust;
} m_import;

/* Ticket from joined ticket into (router.ticket_merges). */
typedef struct m_ticket_merge {
    int from, into;
    const char *cause_id;       /* the contact, merge or request that did it */
    const char *actor, *reason; /* a person's merge (merge.h); NULL otherwise */
    int64_t at;
} m_ticket_merge;

struct unmerge_plan;

/* A message a contact may thread to (by its external_id). */
typedef struct m_ref {
    const char *external_id, *channel;
    int ticket;
    int64_t at;
    const char *stream;
    uint64_t seq;
    int next; /* the next ref with the same external_id, -1 */
} m_ref;

/* How much of a team's queue (in PostgreSQL) is in the model: every queued
 * ticket ranked at or above the watermark, or all when exhausted. */
typedef struct m_queue {
    const char *team;
    bool loaded, exhausted;
    int wm_rank;
    int64_t wm_queued;
    char wm_id[ID_LEN];
} m_queue;

typedef struct model {
    arena a;
    db *db;
    const rules *rules;
    int64_t reopen_window_us;

    m_customer *cust;
    size_t ncust, custcap;
    hmap cust_by_id;
    m_ticket *tick;
    size_t ntick, tickcap;
    m_ticket *tick_orig; /* each ticket as loaded, to write only what changed */
    size_t origcap;
    hmap tick_by_id;
    m_agent *agent;
    size_t nagent, agentcap;
    hmap agent_by_id;
    /* "kind\x1fvalue" -> customer index, or MODEL_ABSENT: looked up,
     * nobody owns it. */
    hmap ident;
    /* "kind\x1fvalue" -> index into origins: the id of the customer each
     * handle in ident was first known with (unmerge.h). */
    hmap ident_origin;
    const char **origins;
    size_t norigins, origincap;
    /* Pairs of customers an unmerge keeps apart (router.unmerges), as the
     * indexes of their survivors when loaded: a contact naming both does
     * not merge them again (unmerge_apart). */
    int (*apart)[2];
    size_t napart, apartcap;
    /* The unmerge of this batch (a batch of its own, router.c), or NULL. */
    struct unmerge_plan *unmerge;
    m_ref *refs;
    size_t nrefs, refcap;
    hmap ref_by_ext;
    m_queue *queues;
    size_t nqueues, qcap;
    m_team *team; /* every team */
    size_t nteam, teamcap;
    hmap team_by_id;
    m_canned *canned; /* those the batch changes */
    size_t ncanned, cannedcap;

    /* What replies and acknowledgements need to be addressed: the
     * conversations (inbound messages, email thread) of the tickets they go
     * on, and their customers' handles, as loaded (m_ticket.hist_loaded,
     * m_customer.idents_loaded). */
    m_message *hist;
    size_t nhist, histcap;
    m_identity *cident;
    size_t ncident, cidentcap;

    /* Rows to insert. */
    m_identity *idnew;
    size_t nidnew, idnewcap;
    m_message *msg;
    size_t nmsg, msgcap;
    m_note *note;
    size_t nnote, notecap;
    m_merge *merge;
    size_t nmerge, mergecap;
    m_import *import;
    size_t nimport, importcap;
    m_ticket_merge *tmerge;
    size_t ntmerge, tmergecap;
    m_status *status;
    size_t nstatus, statuscap;
} model;

#define MODEL_ABSENT (-2)

void model_init(model *m, db *d, const rules *r, int64_t reopen_window_us);
void model_release(model *m);

/* Lookups: the index, or -1. */
int model_customer(const model *m, const char *id);
int model_ticket(const model *m, const char *id);
int model_agent(const model *m, const char *id);
int model_team(const model *m, const char *id);
/* The survivor of a customer / the ticket a ticket was merged into. */
int model_customer_final(const model *m, int c);
int model_ticket_final(const model *m, int t);
/* The owner of a handle: an index, MODEL_ABSENT, or -1 when not loaded. */
int model_identity(const model *m, const char *kind, const char *value);
void model_identity_set(model *m, const char *kind, const char *value, int cust);
/* The customer id a handle was first known with, NULL when not loaded. */
const char *model_identity_origin(const model *m, const char *kind, const char *value);
void model_identity_set_origin(model *m, const char *kind, const char *value, const char *origin);

/* Adds rows (copied into the arena); return their index. */
int model_add_customer(model *m, const m_customer *c);
int model_add_ticket(model *m, const m_ticket *t);
int model_add_agent(model *m, const m_agent *a);
int model_add_team(model *m, const m_team *t);
void model_add_ref(model *m, const char *external_id, const char *channel, int ticket, int64_t at,
                   const char *stream, uint64_t seq);
/* The first ref of external_id, -1. */
int model_ref(const model *m, const char *external_id);
/* Puts ticket t in customer c's list (and c in t's cust). */
void model_link_ticket(model *m, int c, int t);
/* The same for a ticket just read from the database, owned by customer c
 * (its customer_id): linked to c's survivor, and c is also the customer of
 * its loaded self (model_ticket_changed), so that only a move afterwards,
 * or an owner merged away, counts as a change of customer. */
void model_link_loaded(model *m, int c, int t);
/* Takes ticket t out of customer c's list. */
void model_unlink_ticket(model *m, int c, int t);
m_queue *model_queue(model *m, const char *team);

/* True when t differs from its loaded self in more than its contacts
 * count and times of activity (a contact joining it). */
bool model_ticket_changed(const model *m, int t);

/* Active: open or pending (counts against its assignee's capacity). */
bool model_ticket_active(const m_ticket *t);
/* Queue order: true when a goes before b (higher rank, then older). */
bool model_queue_before(int rank_a, int64_t queued_a, const char *id_a, int rank_b,
                        int64_t queued_b, const char *id_b);

char *model_strdup(model *m, const char *s);

#endif
