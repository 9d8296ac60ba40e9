/* config.c — CAREBUS_* environment variables.
 *
 * An empty variable counts as unset (compose files and shells produce
 * FOO= easily, and "no value" is what was meant). A set but invalid value is
 * an error, never a silent fallback. Error texts live in thread-local static
 * storage: valid until the same thread's next config_* call. On error *out
 * is left untouched. An overlay (config_overlay) stands in for the
 * environment where it names a setting: courier's channel settings stored
 * by carebusctl are read through it, by the same code that reads the
 * environment.
 */
#include "config.h"
#include "log.h"

#include <openssl/crypto.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_PREFIX "CAREBUS_"
#define CONFIG_NAME_MAX 128
/* Values are quoted in error texts; a runaway value is cut here. */
#define CONFIG_QUOTE_MAX 64

/* Room for the longest name, the text and a cut value. */
static _Thread_local char config_errbuf[CONFIG_NAME_MAX + CONFIG_QUOTE_MAX + 128];

static _Thread_local struct config_setting *config_over;
static _Thread_local size_t config_nover;

void config_overlay(struct config_setting *v, size_t n)
{
    config_over = v;
    config_nover = v ? n : 0;
}

/* Raw value of CAREBUS_<name>, or NULL when unset or empty. */
static const char *config_raw(const char *name, char full[CONFIG_NAME_MAX])
{
    int n = snprintf(full, CONFIG_NAME_MAX, CONFIG_PREFIX "%s", name);
    /* Names are literals in our code: a too-long one is our bug. */
    assert(n > 0 && n < CONFIG_NAME_MAX);
    (void)n;
    for (size_t i = 0; i < config_nover; i++)
        if (strcmp(config_over[i].name, name) == 0) {
            config_over[i].used = true;
            const char *o = config_over[i].value;
            return o != NULL && o[0] != '\0' ? o : NULL;
        }
    const char *v = getenv(full);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *config_str(const char *name, const char *def)
{
    char full[CONFIG_NAME_MAX];
    const char *v = config_raw(name, full);
    return v != NULL ? v : def;
}

int config_long(const char *name, long def, long min, long max, long *out, const char **err)
{
    assert(min <= max);
    char full[CONFIG_NAME_MAX];
    const char *v = config_raw(name, full);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    /* strtol would skip leading blanks; "full string" means none allowed. */
    char *end = NULL;
    errno = 0;
    long x = isspace((unsigned char)v[0]) ? 0 : strtol(v, &end, 10);
    if (end == NULL || end == v || *end != '\0' || errno == ERANGE || x < min || x > max) {
        snprintf(config_errbuf, sizeof config_errbuf,
                 "%s: expected an integer in [%ld, %ld], got \"%.*s%s\"", full, min, max,
                 CONFIG_QUOTE_MAX, v, strlen(v) > CONFIG_QUOTE_MAX ? "..." : "");
        if (err != NULL)
            *err = config_errbuf;
        return -1;
    }
    *out = x;
    return 0;
}

int config_long_logged(const char *name, long def, long min, long max, long *out)
{
    const char *err = NULL;
    if (config_long(name, def, min, max, out, &err) != 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

static const struct {
    const char *name;
    bool value;
} config_bools[] = {
    {"1", true},  {"true", true},   {"yes", true}, {"on", true},
    {"0", false}, {"false", false}, {"no", false}, {"off", false},
};

int config_bool(const char *name, bool def, bool *out, const char **err)
{
    char full[CONFIG_NAME_MAX];
    const char *v = config_raw(name, full);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; i < sizeof config_bools / sizeof config_bools[0]; i++) {
        if (strcasecmp(v, config_bools[i].name) == 0) {
            *out = config_bools[i].value;
            return 0;
        }
    }
    snprintf(config_errbuf, sizeof config_errbuf,
             "%s: expected a boolean (1/0, true/false, yes/no, on/off), got \"%.*s%s\"", full,
             CONFIG_QUOTE_MAX, v, strlen(v) > CONFIG_QUOTE_MAX ? "..." : "");
    if (err != NULL)
        *err = config_errbuf;
    return -1;
}

int config_public_url(char *out, size_t size)
{
    const char *base = config_str("PUBLIC_URL", NULL);
    int n;
    if (base) {
        size_t bl = strlen(base);
        while (bl && base[bl - 1] == '/')
            bl--;
        n = snprintf(out, size, "%.*s", (int)bl, base);
    } else {
        long port = CONFIG_DEFAULT_INGEST_PORT;
        /* An invalid port stops channel-ingest at start; here it is only
         * the default's. */
        if (config_long("INGEST_PORT", CONFIG_DEFAULT_INGEST_PORT, 1, 65535, &port, NULL) != 0)
            port = CONFIG_DEFAULT_INGEST_PORT;
        n = snprintf(out, size, "http://127.0.0.1:%ld", port);
    }
    return n >= 0 && (size_t)n < size ? 0 : -1;
}

/* Reads a whole PEM file; NULL (logged) on failure. */
static char *config_read_pem(const char *var, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    if (!f) {
        log_error("could not open %s \"%s\": %m", var, path);
        return NULL;
    }
    b = malloc(CONFIG_PEM_MAX + 1);
    size_t n = b ? fread(b, 1, CONFIG_PEM_MAX + 1, f) : 0;
    if (!b || ferror(f) || n == 0 || n > CONFIG_PEM_MAX) {
        log_error("could not read %s \"%s\": empty, unreadable or over 1 MiB", var, path);
        free(b);
        b = NULL;
    } else {
        b[n] = '\0';
    }
    fclose(f);
    return b;
}

int config_tls(char **cert, char **key)
{
    *cert = *key = NULL;
    const char *c = config_str("TLS_CERT", NULL), *k = config_str("TLS_KEY", NULL);
    if (!c != !k) {
        log_error("set both CAREBUS_TLS_CERT and CAREBUS_TLS_KEY for HTTPS, or neither");
        return -1;
    }
    if (c && (!(*cert = config_read_pem("CAREBUS_TLS_CERT", c)) ||
              !(*key = config_read_pem("CAREBUS_TLS_KEY", k)))) {
        config_tls_release(cert, key);
        return -1;
    }
    return 0;
}

static void config_pem_free(char **p)
{
    if (*p)
        OPENSSL_cleanse(*p, strlen(*p));
    free(*p);
    *p = NULL;
}

void config_tls_release(char **cert, char **key)
{
    config_pem_free(cert);
    config_pem_free(key);
}
