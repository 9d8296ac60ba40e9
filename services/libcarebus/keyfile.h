/* keyfile.h — a 32-byte secret key from the environment: 64 hex digits in
 * CAREBUS_<NAME>, or in the file CAREBUS_<NAME>_FILE names (read when
 * CAREBUS_<NAME> is unset or empty; white space around the digits is
 * ignored). The master key (CAREBUS_MASTER_KEY, datakey.h) and the desk's
 * secret (CAREBUS_DESK_SECRET) are read so; carebusctl master-key make
 * writes such a file.
 */
#ifndef CAREBUS_KEYFILE_H
#define CAREBUS_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define KEYFILE_LEN 32

/* CAREBUS_<name> or CAREBUS_<name>_FILE into key: 1 read, 0 neither is
 * set, -1 one is set but is not a key (logged, naming the variable). */
int keyfile_load(const char *name, uint8_t key[KEYFILE_LEN]);

/* The key in the file at path: 0, or -1 with err set. */
int keyfile_read(const char *path, uint8_t key[KEYFILE_LEN], char *err, size_t cap);

/* Makes a key file at path (a random key, 64 hex digits, mode 0600) unless
 * one is there already: 1 made, 0 a valid one kept, -1 with err set (an
 * invalid file is never replaced: what it sealed may need it). */
int keyfile_make(const char *path, char *err, size_t cap);

#endif
