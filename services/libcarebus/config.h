/* config.h — configuration from CAREBUS_* environment variables.
 *
 * Every setting has a default fit for a local run. Names are given without
 * the prefix: config_str("PG", ...) reads CAREBUS_PG. A value that is set
 * but invalid is an error (the caller logs it and exits): a typo in a port
 * must not silently fall back to the default.
 */
#ifndef CAREBUS_CONFIG_H
#define CAREBUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* A setting that stands in for the environment's: name without the
 * prefix ("TWILIO_AUTH_TOKEN"); used is set when a config_* call read it. */
struct config_setting {
    const char *name;
    const char *value;
    bool used;
};

/* Until the next call (NULL, 0: none), this thread's config_* calls read v
 * before the environment. v is borrowed, and must outlive its use. */
void config_overlay(struct config_setting *v, size_t n);

/* Borrowed: the environment's string, or def when unset or empty. */
const char *config_str(const char *name, const char *def);

/* Reads an integer in [min, max]; *out = def when unset. -1 when set but not
 * an integer in range; *err (static storage) says why. */
int config_long(const char *name, long def, long min, long max, long *out, const char **err);
/* config_long, its error logged here: for a service reading its settings at
 * start, where a bad one stops it. 0 or -1. */
int config_long_logged(const char *name, long def, long min, long max, long *out);

/* Reads a boolean (1/0, true/false, yes/no, on/off). -1 when invalid. */
int config_bool(const char *name, bool def, bool *out, const char **err);

/* The URL providers call carebus at, as they sign it: CAREBUS_PUBLIC_URL
 * without its final "/", else channel-ingest on loopback
 * (http://127.0.0.1:<CAREBUS_INGEST_PORT>). Webhook paths are appended to
 * it: channel-ingest checks Twilio's signatures over it, courier gives it
 * to Twilio as the StatusCallback. 0, or -1 when it does not fit in out. */
int config_public_url(char *out, size_t size);

/* HTTPS for a service's HTTP server: the PEM files named by
 * CAREBUS_TLS_CERT and CAREBUS_TLS_KEY, read whole (at most CONFIG_PEM_MAX
 * bytes each) into *cert and *key, owned by the caller (config_tls_release
 * wipes and frees them); both NULL when neither is set. 0, or -1 after
 * logging: one set without the other, a file unreadable, empty or too big. */
#define CONFIG_PEM_MAX (1 << 20)
int config_tls(char **cert, char **key);
void config_tls_release(char **cert, char **key);

/* Defaults shared by every service. */
#define CONFIG_DEFAULT_PG "host=127.0.0.1 port=54320 dbname=carebus user=carebus"
#define CONFIG_DEFAULT_INGEST_PORT 8080

#endif
