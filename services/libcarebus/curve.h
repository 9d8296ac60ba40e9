/* curve.h — the bus's CURVE keys: settings, key files and the allow-list.
 *
 * With CURVE (CurveZMQ: Curve25519 keys, every connection authenticated and
 * encrypted) the publishers are servers sharing one key pair, the server
 * key, and each subscriber is a client with a key pair of its own: every
 * carebus service that reads the bus (curve_service_at) and every
 * integrator an operator lets in. Publishers accept the clients whose public
 * keys are in the allow-list, a file of "<key> <name>" lines (zap.h answers
 * libzmq's questions from it). Keys are 32 bytes, written as Z85 text of 40
 * characters, as zmq_curve_keypair makes them. CURVE is on as soon as any
 * CAREBUS_BUS_CURVE_* setting is given: then a socket without the keys it
 * needs is an error, never a silent fall back to an open bus.
 */
#ifndef CAREBUS_CURVE_H
#define CAREBUS_CURVE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURVE_KEY_BYTES 32
#define CURVE_KEY_TEXT 40 /* Z85 characters */
#define CURVE_NAME_MAX 64
#define CURVE_ERR_MAX 512

/* File names in the keys folder (CAREBUS_BUS_CURVE_DIR): the server's pair,
 * the allow-list, and each service's secret key "<service>.key". */
#define CURVE_FILE_SERVER_SECRET "server.key"
#define CURVE_FILE_SERVER_PUBLIC "server.pub"
#define CURVE_FILE_ALLOWED "allowed-clients"
#define CURVE_FILE_CLIENT_SUFFIX ".key"

/* --- keys ------------------------------------------------------------------ */

/* Z85 text of a key into out (CURVE_KEY_TEXT + 1 bytes, NUL-terminated). */
void curve_key_encode(const uint8_t key[CURVE_KEY_BYTES], char out[CURVE_KEY_TEXT + 1]);
/* Strict: exactly CURVE_KEY_TEXT characters of Z85 (text need not be
 * NUL-terminated). 0, or -1 (out is then undefined). */
int curve_key_decode(const char *text, size_t len, uint8_t out[CURVE_KEY_BYTES]);
/* A new key pair (libzmq's zmq_curve_keypair, libsodium's random). 0 or -1. */
int curve_keypair(uint8_t public_key[CURVE_KEY_BYTES], uint8_t secret_key[CURVE_KEY_BYTES]);
/* The public key that belongs to a secret key. 0 or -1. */
int curve_public_of(const uint8_t secret_key[CURVE_KEY_BYTES], uint8_t public_key[CURVE_KEY_BYTES]);
/* A client's name: 1 to CURVE_NAME_MAX characters of [A-Za-z0-9._-],
 * not "server" (the keys folder's own pair). */
bool curve_name_valid(const char *name);

/* The carebus services that subscribe to the bus, each with a key pair of
 * its own named after it (the name the service logs under). Static. */
size_t curve_service_count(void);
const char *curve_service_at(size_t i);

/* --- settings ---------------------------------------------------------------- */

struct curve_config {
    bool on; /* some CAREBUS_BUS_CURVE_* setting is given */
    bool has_server_secret, has_server_public, has_secret;
    uint8_t server_secret[CURVE_KEY_BYTES]; /* publishers */
    uint8_t server_public[CURVE_KEY_BYTES]; /* subscribers: the server they trust */
    uint8_t secret[CURVE_KEY_BYTES];        /* this process as a client */
    uint8_t public_key[CURVE_KEY_BYTES];    /* derived from secret */
    char allowed[PATH_MAX];                 /* the allow-list file; "" when none */
    char dir[PATH_MAX];                     /* the keys folder; "" when none */
};

/* Reads CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY, _SERVER_SECRET_KEY, _SECRET_KEY,
 * _ALLOWED_CLIENTS and _DIR; what is not set is taken from the keys folder
 * when there is one (the client key of `name`, NULL for none: name.key).
 * A missing file there is a missing key; an unreadable or malformed one,
 * or a public key that does not match its secret key, is an error.
 * 0 (c->on false when nothing is set), or -1 with err set. Blocks (files). */
int curve_config_load(const char *name, struct curve_config *c, char err[CURVE_ERR_MAX]);

/* Reads a key file (Z85, blanks around it allowed). 1 read, 0 no such
 * file, -1 unreadable or malformed (err set). */
int curve_key_read(const char *path, uint8_t key[CURVE_KEY_BYTES], char err[CURVE_ERR_MAX]);
/* Writes a key file atomically (a temporary file renamed), mode 0600 for a
 * secret key, 0644 for a public one. 0 or -1 (err set). */
int curve_key_write(const char *path, const uint8_t key[CURVE_KEY_BYTES], bool secret,
                    char err[CURVE_ERR_MAX]);

/* --- the allow-list ------------------------------------------------------------ */

struct curve_client {
    uint8_t key[CURVE_KEY_BYTES];
    char name[CURVE_NAME_MAX + 1];
};

struct curve_allowlist {
    struct curve_client *clients; /* owned */
    size_t n;
};

/* Parses the allow-list's text: one "<Z85 public key> <name>" a line, blank
 * lines and lines starting with '#' ignored. 0 with *out filled (release
 * it), or -1 with err naming the line (*out then empty). */
int curve_allowlist_parse(const char *text, size_t len, struct curve_allowlist *out,
                          char err[CURVE_ERR_MAX]);
/* The same from a file. -1 when it cannot be read (err says why). Blocks. */
int curve_allowlist_read(const char *path, struct curve_allowlist *out, char err[CURVE_ERR_MAX]);
/* The client with this public key, or NULL. Borrowed. */
const struct curve_client *curve_allowlist_find(const struct curve_allowlist *l,
                                                const uint8_t key[CURVE_KEY_BYTES]);
/* The client named name, or NULL. Borrowed. */
const struct curve_client *curve_allowlist_named(const struct curve_allowlist *l, const char *name);
/* Whether every key of old is still in cur (false: a key was removed). */
bool curve_allowlist_keeps(const struct curve_allowlist *old, const struct curve_allowlist *cur);
void curve_allowlist_release(struct curve_allowlist *l);

/* Edits the allow-list file in place, keeping every other line (comments
 * too): removes the lines of the client named `remove` (NULL: none), then
 * adds `add` (NULL: nothing) at the end. The file is made when missing and
 * replaced atomically, so a publisher never reads half of it. *removed
 * (may be NULL) counts the lines removed. 0 or -1 (err set). Blocks, also
 * while another edit of a file in the same folder runs: edits hold the
 * folder's lock (flock), so two at once both land, one after the other. */
int curve_allowlist_edit(const char *path, const struct curve_client *add, const char *remove,
                         int *removed, char err[CURVE_ERR_MAX]);

#endif
