/* datakey.h — personal data in the event log, sealed with a key per event.
 *
 * An event whose personal fields (personal.h) are not all empty is stored
 * with each of them replaced by DATAKEY_PREFIX and the base64url of an
 * AES-256-GCM ciphertext under a fresh random data key; the data key is
 * stored apart (privacy.datakeys, by event id), wrapped by the master key
 * (CAREBUS_MASTER_KEY: 64 hex digits, or CAREBUS_MASTER_KEY_FILE: a file
 * holding them, read by keyfile.h). Deleting a data key row makes the
 * event's personal fields unreadable for ever, without touching the
 * append-only log: readers then see DATAKEY_ERASED in their place
 * ("crypto-shredding").
 *
 * Rotation: CAREBUS_MASTER_KEYS_OLD names old keys' files (comma-separated);
 * they only unwrap, by the id each wrapped key carries; new keys are wrapped
 * by the current one. datakey_rewrap moves a wrapped key to the current.
 *
 * Without a master key nothing is sealed (a warning is logged once): a
 * development set-up; `make run` and the tests generate one. Readers fail,
 * rather than redact, when a sealed event's key exists but cannot be
 * unwrapped (wrong or missing master key): a configuration mistake must
 * not look like an erasure.
 */
#ifndef CAREBUS_DATAKEY_H
#define CAREBUS_DATAKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define DATAKEY_LEN 32
#define DATAKEY_MASTER_ID_LEN 8
/* version, master key id, nonce, the wrapped key, GCM tag */
#define DATAKEY_WRAPPED_LEN (1 + DATAKEY_MASTER_ID_LEN + 12 + DATAKEY_LEN + 16)
/* The current master key and up to seven old ones. */
#define DATAKEY_RING_MAX 8
#define DATAKEY_PREFIX "cbenc1:"
/* What a reader sees in place of a field whose key was destroyed. */
#define DATAKEY_ERASED "[erased]"

/* Loads the master key from the environment, once per process (later calls
 * return the first answer): 1 when one is configured, 0 when none is (a
 * warning logged), -1 when the setting is invalid (logged). */
int datakey_master_load(void);
/* Sets (key) or unsets (NULL) the master key of this process, overriding
 * the environment: for tests and tools. */
void datakey_master_set(const uint8_t *key);
/* Adds an old key (unwraps, never wraps) to the ring after
 * datakey_master_set: 0, or -1 when the ring is full. */
int datakey_master_add_old(const uint8_t *key);
/* The id a wrapped key names for master key key. */
void datakey_master_id(const uint8_t *key, uint8_t id[DATAKEY_MASTER_ID_LEN]);
/* The data key wrapped (len bytes) of event_id, wrapped anew by the current
 * master key into out: 1; 0 when it is already (out untouched); -1 when no
 * key of the ring opens it (logged). */
int datakey_rewrap(const char *event_id, const uint8_t *wrapped, size_t len,
                   uint8_t out[DATAKEY_WRAPPED_LEN]);
/* Whether events are sealed: a master key is loaded. */
bool datakey_enabled(void);

/* Seals the packed envelope plain (len bytes) of event event_id: 1 with the
 * sealed envelope in out (emptied first) and the wrapped data key in
 * wrapped; 0 when there is nothing to seal (no master key, or no personal
 * field set: store plain as it is); -1 when plain does not decode or
 * OpenSSL failed (logged). */
int datakey_seal(const uint8_t *plain, size_t len, const char *event_id, struct buf *out,
                 uint8_t wrapped[DATAKEY_WRAPPED_LEN]);

/* Opens a stored envelope: 1 with the plain envelope in out (emptied
 * first), personal fields decrypted, or DATAKEY_ERASED where wrapped is
 * NULL (the key was destroyed); 0 when stored holds nothing sealed (use it
 * as it is); -1 when it does not decode, or a key is given that does not
 * open it (no or another master key, tampering; logged). */
int datakey_open(const uint8_t *stored, size_t len, const uint8_t *wrapped, size_t wrapped_len,
                 struct buf *out);

/* Whether s is a sealed field's text. */
bool datakey_is_sealed(const char *s);

#endif
