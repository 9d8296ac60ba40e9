/* record.h — what each event of a batch leaves in sla-monitor's tables,
 * before the tickets it touches are recomputed (recompute.h).
 *
 * An event becomes at most one record: a fact of a ticket (sla.ticket_facts,
 * keyed by the log's stream and seq, with the event's own time), a
 * customer's segment (sla.customer_segments), a team's calendar and SLA
 * policy (sla.team_settings), a merge or an unmerge of customers, or the
 * claim of a warning or breach read back from sla's own stream
 * (sla.emitted). Facts, segments, team settings and claims are sets: their
 * order within a batch does not matter. A ticket's customer does: it is the
 * first one an event names (sla.tickets), a merge moves the tickets of one
 * customer to another, and an unmerge gives tickets back. So a batch is
 * cut into runs at its merges and unmerges: each run is written
 * set-based, each (un)merge between them, in the batch's order.
 *
 * A batch may hold the events of several partitions (a round of the
 * partitions one instance holds: consumer_apply_round). A fact or a claim
 * is its ticket's partition's; a segment, a team's settings, a merge and
 * an unmerge are every partition's, and act on the tickets of the
 * partitions that took them: one record, staged once, lists them
 * (sla_records_part).
 *
 * The records are described once here for the C/SQL border (rowset.h).
 * Pure: the SQL runs in apply.c.
 */
#ifndef CAREBUS_SLA_RECORD_H
#define CAREBUS_SLA_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "fold.h"
#include "id.h"
#include "rowset.h"

enum sla_record_kind {
    SLA_REC_FACT,
    SLA_REC_SEGMENT,
    SLA_REC_MERGE,
    SLA_REC_UNMERGE,
    SLA_REC_CLAIM,
    SLA_REC_TEAM /* a team's settings (team.saved) */
};

struct sla_record {
    enum sla_record_kind kind;
    const char *stream; /* borrowed from the event, like the other strings */
    uint64_t seq;
    const char *event_id;
    char ticket[ID_LEN];   /* fact, claim */
    char customer[ID_LEN]; /* fact ("" when none), segment; (un)merge: the merged one */
    char into[ID_LEN];     /* merge: the survivor */
    int64_t at;            /* us: the fact's, the segment's, the claimed deadline */
    enum sla_fact_kind fact;
    const char *priority;            /* fact: classified or escalated priority, else NULL */
    const char *team;                /* fact (kind team), team settings: the team, else NULL */
    bool sets_calendar, sets_policy; /* team settings: which fields the save sets */
    const char *calendar, *policy;   /* team settings: NULL for none */
    const char *segment;             /* segment */
    Carebus__V1__SlaTarget target;   /* claim */
    uint32_t cycle;
    const char *claim;    /* "warning" or "breach" */
    char *const *tickets; /* unmerge: the tickets given back (borrowed) */
    size_t ntickets;
    size_t parts_at, nparts; /* segment, team settings, (un)merge: its partitions in parts */
};

/* sla.ticket_facts, sla.customer_segments, sla.team_settings and
 * sla.emitted rows of records; and the (ticket_id, customer_id) rows of
 * sla.tickets a run sets. */
extern const rowset_table sla_record_facts, sla_record_segments, sla_record_teams,
    sla_record_claims, sla_record_tickets;

/* A batch's records, in order, and their partitions (each record's
 * together, in the order they were added). */
typedef struct sla_records {
    struct sla_record *v;
    size_t n, cap;
    int *parts;
    size_t nparts, parts_cap;
} sla_records;

void sla_records_release(sla_records *r);
/* Empties the batch, keeping its memory up to SLA_RECORDS_KEEP records: a
 * catch-up's batches (a round of every partition held: tens of thousands)
 * give theirs back, for the idle service to return (service.c's trim). */
#define SLA_RECORDS_KEEP 4096
void sla_records_clear(sla_records *r);
/* A slot for the next record (zeroed), NULL when out of memory. */
struct sla_record *sla_records_add(sla_records *r);

/* The last record when it is the event's (stream, seq), else NULL: an
 * event of every partition that another partition of the batch staged
 * just before (a round applies such an event by each partition in turn). */
struct sla_record *sla_records_again(sla_records *r, const char *stream, uint64_t seq);

/* Adds part to the partitions x acts on; x is the last record. 0, or -1
 * out of memory. */
int sla_records_part(sla_records *r, struct sla_record *x, int part);

/* The partitions records[from, to) act on, each once, ascending, as an SQL
 * array literal ("{0,3}"; "{}" when none), appended to out. */
void sla_records_parts_sql(const sla_records *r, size_t from, size_t to, buf *out);

/* The end of the run that starts at `from`: the index of the next merge or
 * unmerge (or n). A merge or an unmerge is a run of its own. */
size_t sla_records_run_end(const sla_records *r, size_t from);

/* The tickets rows of records[from, to) (facts only): one per ticket, with
 * the first customer the run names for it ("" when none). Appended to w
 * (a rowset of sla_record_tickets). 0, or -1 out of memory. */
int sla_records_tickets(const sla_records *r, size_t from, size_t to, rowset *w);

#endif
