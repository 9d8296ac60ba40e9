/* await.h — a request that waits until a consumer of the ingest stream has
 * applied it.
 *
 * The router (the work API's agents, teams, canned replies) and courier
 * (webhook subscriptions) apply what channel-ingest writes asynchronously,
 * into tables channel-ingest then reads. So such a read first waits,
 * suspended, until the consumer's offset on the ingest stream has reached
 * a seq: a write's own, or this process's mark for that consumer (its last
 * such write; after a start, the stream's end as it was then), so that a
 * client reads its own writes. The offset is polled on the read queue
 * every poll_ms for at most the wait given; then ready, or late with how
 * far the consumer got. One wait for every such consumer.
 */
#ifndef AWAIT_H
#define AWAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

struct write_req;

/* This process's last write a consumer must apply before a read. */
struct await_mark {
    uint64_t seq;
    bool known; /* false after a start, until the stream's end is read */
};

struct await {
    /* Set by the caller before await_start: */
    struct write_req *w;
    const char *consumer; /* its name in eventlog.offsets: "router", "courier" */
    struct await_mark *mark;
    int poll_ms;
    void (*ready)(struct await *a);
    void (*late)(struct await *a, uint64_t applied, uint64_t need);
    /* The wait's own: */
    uint64_t until; /* a seq to reach; 0: the mark */
    int64_t deadline_ms;
    int timer; /* > 0 while it waits for the next poll */
};

/* Waits until the consumer has applied until (0: the mark), at most
 * wait_ms, then calls ready or late. 0, or -1 when the first poll could not
 * be sent (nothing is called then). */
int await_start(struct await *a, uint64_t until, int wait_ms);

/* Stops a wait in progress (the request's release). */
void await_stop(struct await *a);

/* Answers 503 "unavailable" (the database is down), counted. */
void await_unavailable(http_req *r);

#endif
