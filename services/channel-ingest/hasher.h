/* hasher.h — agents' passwords hashed off the loop.
 *
 * scrypt is slow on purpose (password.h: ~100-200 ms and 32 MiB at the
 * default cost): on the loop's thread it would stall every request. One
 * worker thread hashes the passwords in the order given; the loop learns
 * of each result through a pipe it watches (the classic self-pipe: the
 * worker owns no ZeroMQ socket or PGconn, and a byte on a pipe is all it
 * needs to say) and calls the job's callback on its own thread. The worker
 * keeps a copy of each password only while it hashes it, then wipes it.
 *
 * The same worker checks passwords against their hashes (sign-in).
 *
 * hasher_destroy joins the worker (after the hash in progress) and calls
 * the callback of every job not delivered with NULL, so that its request is
 * answered (503) before the HTTP server goes.
 */
#ifndef HASHER_H
#define HASHER_H

#include <stddef.h>

#include "loop.h"

typedef struct hasher hasher;

/* phc: the PHC string (borrowed for the call), NULL when hashing failed or
 * the hasher is being destroyed. Called on the loop's thread. */
typedef void (*hasher_fn)(const char *phc, void *arg);

/* The worker is started and the pipe watched on l. NULL (logged) on
 * failure. log_n: the scrypt cost (password.h's default, lower in tests
 * through CAREBUS_PASSWORD_LOG_N). */
hasher *hasher_new(loop *l, int log_n);
void hasher_destroy(hasher **ph);

/* Queues password (len bytes, copied) to be hashed; fn(arg) later. 0, or -1
 * when out of memory (fn is not called). */
int hasher_submit(hasher *h, const char *password, size_t len, hasher_fn fn, void *arg);

/* result: 1 when the password matches, 0 when not, -1 when the hasher is
 * being destroyed. Called on the loop's thread. */
typedef void (*hasher_verify_fn)(int result, void *arg);

/* Queues password (len bytes, copied) to be checked against phc (copied;
 * NULL or "": no hash, checked against a dummy at the hasher's cost so
 * that the answer takes as long, and is 0); fn(arg) later. 0, or -1 when
 * out of memory (fn is not called). */
int hasher_verify(hasher *h, const char *password, size_t len, const char *phc, hasher_verify_fn fn,
                  void *arg);

#endif
