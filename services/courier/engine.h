/* engine.h — requests to providers and integrators, through libcurl's multi
 * socket interface driven by the service's loop.
 *
 * The engine performs an outbound_request (channels/outbound.h) as it
 * says: HTTP (any method, headers, Basic credentials, a body) or SMTP
 * (envelope, STARTTLS required when asked, the message as the upload), and
 * hands back what came of it as an outbound_response: status, transport
 * error, Retry-After, and up to ENGINE_BODY_MAX bytes of the answer. It
 * knows nothing of deliveries or providers, so an adapter that builds a
 * request needs nothing here.
 *
 * Nothing blocks: sockets are watched by the loop (CURLMOPT_SOCKETFUNCTION)
 * and curl's timeout is a one-shot loop timer (CURLMOPT_TIMERFUNCTION).
 * Connections are kept alive and reused across requests (the multi
 * handle's cache), and finished easy handles are reused too.
 */
#ifndef CAREBUS_COURIER_ENGINE_H
#define CAREBUS_COURIER_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "channels/outbound.h"
#include "loop.h"

#define ENGINE_BODY_MAX (16 * 1024)

typedef struct engine engine;

struct engine_opts {
    long timeout_ms;       /* one request, connecting included */
    long host_connections; /* connections per host at most (0: curl's default) */
    const char *ca_file;   /* PEM bundle to trust instead of the system's; NULL */
    const char *user_agent;
};

/* When a request is done. resp is borrowed for the call; started_us and
 * finished_us are wall-clock microseconds. Called from the loop, never
 * from inside engine_start. */
typedef void (*engine_done_fn)(void *ctx, const struct outbound_response *resp, int64_t started_us,
                               int64_t finished_us);

/* NULL when out of memory or curl fails to start. */
engine *engine_new(loop *l, const struct engine_opts *o);
/* Aborts requests in flight without calling their done functions (their
 * owners release their contexts). */
void engine_destroy(engine **pe);

/* Starts req (borrowed: it must live until done is called). 0, or -1 when
 * curl refused it (nothing started, done not called). */
int engine_start(engine *e, const struct outbound_request *req, engine_done_fn done, void *ctx);

/* Lets curl start the requests added since the loop last ran (connect,
 * or write each request on its kept-alive connection), now, without
 * waiting: for a caller about to block (courier's consumer, between the
 * commits of a catch-up), so that the network and the receiver work on
 * them meanwhile. Answers that come are collected (done called) here or
 * by the loop. */
void engine_drive(engine *e);

#endif
