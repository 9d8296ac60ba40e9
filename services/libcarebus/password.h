/* password.h — agents' passwords for the desk's sign-in: scrypt through
 * OpenSSL (EVP_PBE_scrypt), stored in the PHC string format.
 *
 *   $scrypt$ln=15,r=8,p=1$<salt>$<hash>
 *
 * (passlib's spelling: ln is log2 of the cost N; salt and hash in standard
 * base64 without padding; a 16-byte random salt, a 32-byte hash). The
 * parameters travel in the string, so a stronger default later still
 * verifies the hashes made before. Only the hash leaves this module: the
 * API hashes a password before anything is stored or logged, and the event
 * carries the hash (event_json never writes it).
 *
 * Hashing is slow on purpose (~200 ms at the default cost on one core of
 * this machine): never on a service's loop thread (channel-ingest hashes on
 * a worker, hasher.h). Pure functions; they do not block on anything else.
 */
#ifndef CAREBUS_PASSWORD_H
#define CAREBUS_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* The default cost: N = 2^15, r = 8, p = 1 (32 MiB, the scrypt paper's
 * interactive-login choice doubled). */
#define PASSWORD_LOG_N 15
#define PASSWORD_R 8
#define PASSWORD_P 1
/* Longest PHC string this module makes or reads, NUL included. */
#define PASSWORD_HASH_MAX 160
/* What the API accepts as a password, in bytes. */
#define PASSWORD_MIN 8
#define PASSWORD_MAX 256

/* Hashes password (len bytes) with a fresh random salt at cost 2^log_n, r,
 * p into out (PASSWORD_HASH_MAX bytes). 0, or -1 when the random generator
 * or scrypt failed (parameters out of range included). */
int password_hash(const char *password, size_t len, int log_n, int r, int p,
                  char out[PASSWORD_HASH_MAX]);

/* True when password matches the PHC string phc (in time independent of
 * where the hashes differ); false for a string this module cannot read. */
bool password_verify(const char *password, size_t len, const char *phc);

#endif
