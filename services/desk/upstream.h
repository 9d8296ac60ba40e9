/* upstream.h — calls to channel-ingest's public API, made by a worker in
 * the name of the signed-in agent (their session's key as Bearer).
 *
 * Blocking (libcurl's easy interface): only on the pool's workers, each
 * with its own handle (kept alive between calls). Loopback only: the base
 * URL is channel-ingest's (CAREBUS_DESK_API_URL, else
 * http://127.0.0.1:<CAREBUS_INGEST_PORT>). A call gives up when the pool
 * stops, so shutdown never waits out a long poll.
 */
#ifndef DESK_UPSTREAM_H
#define DESK_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"
#include "pool.h"

#define UPSTREAM_TYPE_MAX 128

struct upstream_answer {
    long status; /* 0: no answer (connection refused, timeout) */
    char type[UPSTREAM_TYPE_MAX];
    long retry_after; /* its Retry-After in seconds (0: none) */
    buf body;
};

/* method path_query (starting with "/v1/") under base, with key as Bearer
 * (NULL: none) and body (NULL: none; JSON). timeout_s bounds the whole
 * call. 0 when an answer came (any status), -1 otherwise. out->body is the
 * caller's to buf_release, whatever the result. */
int upstream_call(CURL *c, const pool *p, const char *base, const char *key, const char *method,
                  const char *path_query, const char *body, size_t len, long timeout_s,
                  struct upstream_answer *out);

#endif
