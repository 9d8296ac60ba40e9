/* sla.h — sla-monitor's state and its three activities.
 *
 *   apply.c   the consumer's handlers and flush: a batch's events become
 *             records (record.c: facts, segments, merges, claims), written
 *             set-based, then every ticket they touched is recomputed once
 *             from all its facts (recompute.c, fold.c) in the same
 *             transaction; changed deadlines go onto the heap.
 *   timers.c  the heap of upcoming warnings and breaches: loaded at start
 *             from sla.targets (the index on next_fire_at), armed on the
 *             clock, fired exactly once through a claim row in sla.emitted.
 *   policy.c  the configuration.
 *
 * Exactly once, also with two instances and across kill -9: each published
 * warning or breach has a row in sla.emitted, inserted in the transaction
 * that appends the event, and an event id derived from (ticket, target,
 * cycle, kind); an instance whose insert conflicts emits nothing, and a
 * repeated append of the same id is a no-op in the log. sla-monitor also
 * reads its own stream, so a rebuild restores sla.emitted from the log.
 */
#ifndef CAREBUS_SLA_SLA_H
#define CAREBUS_SLA_SLA_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "consumer.h"
#include "fold.h"
#include "heap.h"
#include "id.h"
#include "policy.h"
#include "record.h"
#include "service.h"
#include "stmt.h"

/* Defaults of the CAREBUS_SLA_* settings. */
#define SLA_SWEEP_MS_DEFAULT 1000
/* Entries fired per transaction, and transactions per loop turn. */
#define SLA_FIRE_BATCH 500
#define SLA_FIRE_ROUNDS 20
/* Events per consumer transaction, and how long the bus path waits to
 * fill one. */
#define SLA_BATCH 20000
#define SLA_LINGER_MS 5

typedef struct sla {
    service *svc;    /* borrowed */
    sla_config *cfg; /* owned; NULL until loaded */
    sla_clock *clock;
    sla_heap heap;
    char *config_dir;
    bool config_explicit;
    long sweep_ms;
    bool started;          /* configuration and timers loaded, consumer running */
    int64_t armed_at;      /* the clock is armed for this instant (INT64_MIN: retrying) */
    int64_t clock_written; /* the file clock's time last written to sla.clock */
    struct sla_rows rows;  /* scratch for the fold (recompute.c) */
    sla_stmts stmts;       /* the consumer's prepared statements (stmt.h) */
    sla_records batch;     /* the records of the batch being applied (apply.c) */
} sla;

/* An empty context (settings are read by sla_start). NULL on OOM. */
sla *sla_new(void);
void sla_destroy(sla **ps);

/* Reads CAREBUS_SLA_CLOCK, CAREBUS_SLA_SWEEP_MS, CAREBUS_SLA_CONFIG_DIR and
 * attaches the clock and the start-up/sweep timer to svc's loop. Once
 * PostgreSQL is up it loads the configuration and the timers, then starts
 * consuming. 0, or -1 logged. */
int sla_start(sla *s, service *svc);

/* http_ready_fn: connected, configured, timers loaded. */
bool sla_ready(void *arg);

/* The consumer's handler table (apply.c; consumer.h): arg is the sla. */
extern const struct consumer_handler sla_handlers[];
extern const size_t sla_nhandlers;
/* The partition of an event (consumer_part_fn): its ticket's
 * (eventlog.part_of of the ticket id), every partition for the events
 * about a customer or a team (each applies them to its own tickets). */
int sla_part_of(const event *ev, int nparts, void *arg);
/* Makes the consumer (whose handlers' argument is s) apply in batches:
 * its flush, done hook, batch size, catching up its streams together. */
void sla_attach(sla *s, consumer *c);

/* timers.c */
int sla_timers_load(sla *s);
/* A hint that (ticket, target, cycle) may fire at `at`. */
void sla_timers_push(sla *s, const char *ticket_id, Carebus__V1__SlaTarget target, uint32_t cycle,
                     int64_t at);
/* Fires what is due (the clock's callback). */
void sla_timers_on_clock(void *arg);
/* Pushes timers that are overdue in PostgreSQL but not on this heap (set by
 * another instance): an index probe of next_fire_at <= now. */
int sla_timers_sweep(sla *s);

/* The event id of (ticket, target, cycle, kind): "warning", "breach",
 * "escalation". */
void sla_event_id(const char *ticket_id, Carebus__V1__SlaTarget target, uint32_t cycle,
                  const char *kind, char out[ID_LEN]);

/* One step up: low -> normal -> high -> urgent (urgent stays). */
Carebus__V1__Priority sla_priority_raise(Carebus__V1__Priority p);

#endif
