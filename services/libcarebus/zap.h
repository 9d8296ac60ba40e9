/* zap.h — the bus's ZAP handler: which CURVE clients may subscribe.
 *
 * libzmq asks the application whether each client that completed a CURVE
 * handshake may connect, over ZAP (ZeroMQ RFC 27) on the socket
 * inproc://zeromq.zap.01 of the publisher's context; without a handler it
 * would let every client in. This one answers from the allow-list file
 * (curve.h), in a thread of its own, so that a handshake never waits for a
 * service's loop (which may block on PostgreSQL). It notices within a
 * second when the file changes: a key added is accepted at the client's
 * next attempt; a key removed counts as a revocation (zap_revocations), on
 * which the publisher drops its connections so that every client
 * authenticates again (bus.c). A file that no longer reads or parses is
 * logged and the list in force is kept.
 */
#ifndef CAREBUS_ZAP_H
#define CAREBUS_ZAP_H

typedef struct zap zap;

/* Loads the allow-list at path and binds the handler in ctx (before any
 * CURVE server socket of ctx binds), then starts its thread. NULL after
 * logging why (no file, a malformed one, a handler already there). */
zap *zap_new(void *ctx, const char *path);
/* Stops the thread and closes the handler's sockets; before the context is
 * terminated. */
void zap_destroy(zap **pz);

/* How many reloads so far removed a key: grows, never shrinks. Any thread. */
unsigned long zap_revocations(const zap *z);

#endif
