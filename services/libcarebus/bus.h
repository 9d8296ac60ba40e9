/* bus.h — the ZeroMQ event bus: the fast path, never the truth.
 *
 * Each producer binds one PUB socket and publishes each event after it is
 * committed, as two frames: the topic "<stream>." and the packed envelope.
 * Consumers connect one SUB socket to the producers they read. PUB drops at
 * its high-water mark and a SUB misses what was sent before it connected:
 * consumers detect the gap from the sequence numbers and read the log (see
 * consumer.h). Linger is set to 0 so that closing never hangs.
 */
#ifndef CAREBUS_BUS_H
#define CAREBUS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

typedef struct bus bus;

/* Creates its own ZeroMQ context and reads the CURVE settings (curve.h):
 * name is the service's, whose client key the keys folder holds (NULL, or
 * bus_new(): the client key must be in CAREBUS_BUS_CURVE_SECRET_KEY). NULL
 * on failure, a malformed or unreadable key included (logged). */
bus *bus_new_named(const char *name);
bus *bus_new(void);
void bus_destroy(bus **pb);

/* The streams of the table (bus.c): i < bus_stream_count(). Static. */
size_t bus_stream_count(void);
const char *bus_stream_at(size_t i);

/* A producer as the table has it: its stream, the service that publishes
 * it, the variable that names its endpoint and the default endpoint. */
struct bus_stream {
    const char *stream;   /* "ingest" */
    const char *producer; /* "channel-ingest" */
    const char *var;      /* "CAREBUS_BUS_INGEST" */
    const char *def;      /* "tcp://127.0.0.1:5561" */
};
/* The i-th producer (static), NULL when i >= bus_stream_count(). */
const struct bus_stream *bus_stream_get(size_t i);

/* The endpoint consumers connect to for a stream: CAREBUS_BUS_<STREAM>
 * ("ingest" -> CAREBUS_BUS_INGEST) or its default; a comma-separated list
 * when the producer runs as several instances. Borrowed. NULL for an
 * unknown stream. */
const char *bus_endpoint(const char *stream);

/* Binds the PUB socket (CAREBUS_BUS_BIND overrides endpoint: in a container
 * one binds "tcp://0.0.0.0:5561" and the others connect to tcp://host:5561;
 * of a list, the first unless overridden).
 * Once per bus. With CURVE on, first starts the ZAP handler on the
 * allow-list (zap.h); -1 when a key or the allow-list is missing. */
int bus_bind(bus *b, const char *endpoint);
/* Publishes a committed event of stream: its packed envelope as the log
 * handed it back (an eventlog_entry's wire, with stream and seq set), never
 * packed again. Does not block, but after a revocation first binds anew
 * (up to a second; see bus.c): 0, or -1 when dropped (the consumers catch
 * up from the log). */
int bus_publish_bytes(bus *b, const char *stream, const uint8_t *bytes, size_t len);

/* Connects the SUB socket to stream's producer (each endpoint of a list)
 * and subscribes to it (with CURVE on, as a client: -1 when its keys are
 * missing). */
int bus_subscribe(bus *b, const char *stream);
/* The same in two steps, for a reader that listens only at times (the
 * event feed's long polls): bus_connect connects without subscribing
 * (nothing arrives), bus_filter subscribes (on) or unsubscribes. A
 * subscription takes a moment to reach the producer: what it publishes
 * meanwhile is not received. 0 or -1. */
int bus_connect(bus *b, const char *stream);
int bus_filter(bus *b, const char *stream, bool on);
/* The SUB socket, for the loop (borrowed); NULL before bus_subscribe. */
void *bus_sub_socket(bus *b);
/* Receives one event without blocking: 1 with *out set (owned, event_destroy),
 * 0 when none is waiting, -1 on error. Malformed messages are logged,
 * counted and skipped. */
int bus_recv(bus *b, event **out);
/* Waits up to timeout_ms for a message on the SUB socket: 1 when one
 * waits, 0 on timeout, -1 on error. Blocks (the caller's loop with it). */
int bus_wait(bus *b, int timeout_ms);
/* Receives and drops every message waiting, without decoding (a wake-up
 * hint needs no content). How many frames were dropped, or -1 on error. */
int bus_discard(bus *b);

#endif
