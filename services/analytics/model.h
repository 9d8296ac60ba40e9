/* model.h — what analytics knows of each ticket and customer, from events.
 *
 * The state of a ticket or a customer is a pure function of the SET of
 * events about it: analytics reads four streams, each in order, but their
 * interleaving differs between a live run and a replay (the consumer
 * catches up stream by stream). So every list is kept sorted by a canonical
 * key (time, stream, seq) rather than by arrival, minima and counts are
 * commutative, and the few "latest" fields (team, agent, category, a solve)
 * come from one stream only (router), whose order is fixed. The KPIs are
 * then computed from whole states (contrib.h), never from the order in
 * which events arrived: a rebuild equals the live state by construction.
 *
 * The same model serves the live consumer (the entities its batches touch,
 * loaded from PostgreSQL once and kept while they are hot, store.h) and the
 * bulk rebuild (every entity in memory, rebuild.h). States travel as
 * canonical JSON (model_*_json).
 */
#ifndef CAREBUS_ANALYTICS_MODEL_H
#define CAREBUS_ANALYTICS_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "id.h"

#define MODEL_TEXT_MAX 128     /* team, agent and survey ids are cut to this */
#define MODEL_COMMENT_MAX 4000 /* survey comments, bytes */
#define MODEL_NONE INT64_MIN

/* Streams in their canonical order (the tie-breaker of equal times). */
enum { RANK_INGEST = 0, RANK_ROUTER = 1, RANK_SLA = 2, RANK_SURVEY = 3, RANK_OTHER = 4 };

/* Ticket status points. */
enum {
    PT_OPEN = 1,        /* ticket.opened, ticket.reopened */
    PT_SOLVED = 2,      /* ticket.solved */
    PT_CLOSED = 3,      /* ticket.closed */
    PT_PENDING_REQ = 4, /* ticket.status_changed pending: open -> pending */
    PT_OPEN_REQ = 5,    /* ticket.status_changed open: pending -> open */
};
/* Ticket statuses (facts): the schema's values, so that they print as the
 * API spells them (event_ticket_status_name). */
enum {
    TS_NONE = CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED,
    TS_OPEN = CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN,
    TS_PENDING = CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING,
    TS_SOLVED = CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED,
    TS_CLOSED = CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_CLOSED,
};
/* SLA event kinds. */
enum { SLA_WARNING = 1, SLA_BREACH = 2, SLA_ESCALATION = 3 };
/* Customer status points. */
enum { CS_ACTIVE = 1, CS_CHURNED = 2 };

/* One dated fact of a list, ordered by (at, rank, seq). */
typedef struct model_point {
    int64_t at; /* ms since the epoch */
    uint64_t seq;
    int16_t rank;
    int16_t kind;
    int32_t aux;           /* channel of a contact, target of an SLA event */
    int64_t due;           /* SLA: due_at (ms) or MODEL_NONE */
    int64_t remaining;     /* SLA warning: remaining business seconds, or MODEL_NONE */
    char event_id[ID_LEN]; /* SLA events only */
} model_point;

typedef struct model_list {
    model_point *v;
    size_t n, cap;
} model_list;

typedef struct model_survey {
    char *id;
    int64_t requested; /* MODEL_NONE when unknown */
    int64_t answered;
    int32_t csat, ces; /* -1: no answer */
    int32_t channel;
    char *comment; /* NULL: none */
} model_survey;

typedef struct model_ticket {
    char id[ID_LEN];
    char customer[ID_LEN]; /* "" until known */
    bool opened;
    int64_t created;
    int32_t channel;  /* Carebus__V1__Channel */
    int32_t category; /* Carebus__V1__Category */
    int32_t priority;
    char team[MODEL_TEXT_MAX];
    char agent[MODEL_TEXT_MAX];
    int32_t transfers, reopens, escalations;
    int64_t solved; /* the latest ticket.solved, or MODEL_NONE */
    int64_t closed;
    /* Closed by merging into this ticket (the router merges the open
     * tickets of merged customers): "" unless merged. */
    char merged_into[ID_LEN];
    model_list status, contacts, replies, sla;
    model_survey *surveys;
    size_t nsurveys;
    bool dirty; /* changed since loaded */
    bool is_new;
    /* Transient (footprint.h): in the footprint of the batch being applied,
     * FOOTPRINT_EVENT or FOOTPRINT_TREE; 0 otherwise. */
    uint8_t mark;
    /* Transient (footprint_contribute), for writing a stored ticket the
     * batch changed: its samples (bit 1 << metric) that differ from its
     * stored rows and those it no longer has; whether it has SLA events
     * that are not stored yet. */
    uint8_t samples_put, samples_gone;
    bool sla_new;
} model_ticket;

typedef struct model_customer {
    char id[ID_LEN];
    char root[ID_LEN];        /* the surviving customer (itself unless merged) */
    char merged_into[ID_LEN]; /* "" unless merged */
    int64_t first_seen;       /* MODEL_NONE until an event names it */
    int32_t segment;          /* Carebus__V1__Segment, 0: never set */
    int64_t seg_at;           /* canonical key of the update that set it */
    int16_t seg_rank;
    uint64_t seg_seq;
    model_list status; /* kind CS_* */
    bool dirty;
    bool is_new;
    /* Transient (model_resolve_segments): on a root, its tree's segment. */
    int32_t tree_segment;
    /* Transient (the live path, load.h): every ticket of this customer is
     * in the model; (footprint.h) in the batch's footprint. */
    bool all_tickets;
    uint8_t mark;
} model_customer;

typedef struct model model;

model *model_new(void);
void model_destroy(model **pm);

/* Borrowed entities (NULL when not in the model). */
model_ticket *model_ticket_get(model *m, const char *id);
model_customer *model_customer_get(model *m, const char *id);
/* Gets or creates (a new entity is dirty and is_new). NULL only when out of
 * memory. */
model_ticket *model_ticket_make(model *m, const char *id);
model_customer *model_customer_make(model *m, const char *id);
/* All entities, for iteration: *n receives the count. */
model_ticket **model_tickets(model *m, size_t *n);
model_customer **model_customers(model *m, size_t *n);
/* The ticket a survey belongs to ("" when unknown to the model). */
const char *model_survey_ticket(model *m, const char *survey_id);
int model_survey_note(model *m, const char *survey_id, const char *ticket_id);

/* The time of an event (occurred_at, else recorded_at), ms; MODEL_NONE
 * when it has neither. */
int64_t model_event_time(const event *ev);
int model_stream_rank(const char *stream);

/* What an event touches, for loading: ticket id ("" if none), customer ids
 * (up to 2), the survey id of a survey.answered without a ticket id. */
struct model_refs {
    char ticket[ID_LEN];
    char customers[2][ID_LEN];
    int ncustomers;
    bool customer_level; /* changes a customer's segment or its merge tree */
    char survey[MODEL_TEXT_MAX];
};
/* false when the event does not concern analytics at all. */
bool model_refs_of(const event *ev, struct model_refs *r);

/* An event of a batch with what it touches and its time, computed once
 * (the live path: store.h, load.h, footprint.h). */
struct model_item {
    const event *ev;
    struct model_refs r;
    int64_t at; /* model_event_time() */
};

/* Applies an event whose entities are in the model (the live loader puts
 * them there; the rebuild has everything). at: model_event_time(). 0, 1
 * when the event is ignored (nothing to apply), -1 out of memory. */
int model_apply(model *m, const event *ev, int64_t at);
/* The same with the event's refs already known (model_refs_of returned
 * true for it): a batch computes them once per event. */
int model_apply_refs(model *m, const event *ev, const struct model_refs *r, int64_t at);

/* Computes each tree's segment: the latest segment set on any of its
 * members (canonical order), regular when none. Call after applying and
 * before model_segment_of; every member of a tree must be in the model. */
void model_resolve_segments(model *m);
/* The segment of a customer's tree (regular for an unknown customer). */
int32_t model_segment_of(model *m, const char *customer_id);

/* Canonical JSON of a state (a new reference), and back (0 or -1). */
json_t *model_ticket_json(const model_ticket *t);
int model_ticket_from_json(model_ticket *t, json_t *j);
json_t *model_customer_json(const model_customer *c);
int model_customer_from_json(model_customer *c, json_t *j);

/* The status of a ticket after all its points (TS_*). */
int model_ticket_status(const model_ticket *t);

/* List helper, exposed for tests: inserts keeping (at, rank, seq) order;
 * a point with the same (rank, seq, kind) is not added twice. 0 or -1. */
int model_list_insert(model_list *l, const model_point *p);

#endif
