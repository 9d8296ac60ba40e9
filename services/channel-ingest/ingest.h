/* ingest.h — channel-ingest's shared context and its parts.
 *
 * One ingest per process: the write queue (group commit of appends), the
 * read queue (read-back endpoints), the bus publisher and the accepted keys.
 * Reads and writes use separate connections so that a read never waits
 * behind a commit.
 */
#ifndef INGEST_H
#define INGEST_H

#include "auth.h"
#include "dbq.h"
#include "group_commit.h"
#include "http.h"
#include "service.h"

typedef struct ingest {
    service *svc;
    dbq *writes;
    dbq *reads;
    group_commit *gc;
    auth *auth;
} ingest;

/* The route table (routes.c). */
extern const struct http_route ingest_routes[];
extern const size_t ingest_routes_count;

/* Handlers, one file per endpoint family. */
http_status messages_post(http_req *r, void *arg);
http_status events_get(http_req *r, void *arg);
http_status tickets_get(http_req *r, void *arg);

/* Answers 503 with Retry-After (PostgreSQL down or overloaded). */
void ingest_reply_unavailable(http_req *r);

#endif
