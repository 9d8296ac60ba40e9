/* partset.h — a consumer split into partitions, and this instance's share.
 *
 * A partitioned consumer is one consumer (consumer.h) per partition, each
 * with its own offsets (eventlog.offsets under "<name>/<part>") and its own
 * lease (lease.h, eventlog.leases part = the partition): it applies only
 * the events the service's partition function assigns to it, or to every
 * partition. Each instance holds the leases of a fair share of the
 * partitions, ceil(parts / live instances): the instances renew a member
 * row with their leases (eventlog.lease_members), one holding more than
 * its share gives the extras back, one holding fewer takes free (expired
 * or given back) ones. A dead instance's partitions are free a lease after
 * its death and taken within a third of a lease more; fencing is per
 * partition, in the transaction that writes (lease_fence).
 *
 * With one partition (every consumer but those that opt in) it is the
 * plain consumer under one lease (part 0), under its own name: no member
 * row, no balancing, the bus's fast path. The count is fixed for the life
 * of a log (eventlog.partitionings, 0081_partitions.sql).
 */
#ifndef CAREBUS_PARTSET_H
#define CAREBUS_PARTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "consumer.h"
#include "db.h"

#define PARTSET_MAX 1024

typedef struct partset partset;

struct partset_opts {
    const char *name;  /* the consumer's (the service's) name */
    int parts;         /* 1 .. PARTSET_MAX */
    const char *owner; /* this instance's name (lease_instance_id) */
    int lease_ms;
    db *db;
    bus *bus;
    const char *output; /* consumer_new's */
    const struct consumer_handler *handlers;
    size_t nhandlers;
    void *arg;
    consumer_part_fn part_of; /* required when parts > 1 */
};

/* NULL on allocation failure. Borrowed arguments outlive the set. */
partset *partset_new(const struct partset_opts *o);
void partset_destroy(partset **pps);

int partset_count(const partset *ps);
consumer *partset_consumer(partset *ps, int part);
/* Partitions whose lease this instance holds now. */
int partset_owned(const partset *ps);
/* Events applied since start, all partitions. */
uint64_t partset_applied(const partset *ps);

/* Reads stream in every partition (the bus subscribed once). 0 or -1. */
int partset_read(partset *ps, const char *stream);

/* On the service's tick (about every 100 ms), connected: renews this
 * instance's member row and leases, gives back or takes partitions to
 * reach its share, and applies what the owned partitions' logs hold (at
 * once after a takeover, else once a second). 0, or -1 when the set
 * cannot run (its partition count differs from the log's: logged). */
int partset_tick(partset *ps, int64_t now_ms);

/* The bus is readable: drains it and applies what came. */
void partset_on_bus(partset *ps);

/* The lag of the committed offsets, for /metrics (consumer_publish_lag):
 * per stream, the furthest behind of all the partitions, owned or not. */
void partset_publish_lag(partset *ps);

/* Gives every lease back and leaves the members (a clean stop). */
void partset_release(partset *ps);

/* BEGIN with the leases' stall limit (lease_limit_txn), for a service's
 * own transactions outside its consumers'. 0, DB_NOT_NOW (db_begin's) or
 * -1. */
int partset_begin(partset *ps, db *d);

/* The partition of a UUID among parts (0 .. parts-1), as
 * eventlog.part_of computes it in SQL, from its last 7 hex digits (28
 * bits) alone; -1 when id is not 36 characters ending in 7 hex digits
 * (the rest is not checked: id_valid does that). */
int partset_of(const char *id, int parts);

#endif
