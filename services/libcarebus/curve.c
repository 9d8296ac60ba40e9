/* curve.c — CURVE keys as settings, files and an allow-list.
 *
 * Secret keys are never quoted in an error (only the variable or file that
 * holds them is named). Files are small and read whole; each is replaced by
 * rename(2), so that a reader sees the old file or the new one, never half.
 * A public key given beside its secret key must be the one derived from it:
 * a pair copied from two different runs of `carebusctl bus keys` would make
 * every handshake fail far from its cause.
 */
#include "curve.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "config.h"

/* A key file holds 40 characters and a newline; an allow-list a line per
 * client. Anything larger is not ours. */
#define CURVE_KEY_FILE_MAX 256
#define CURVE_LIST_FILE_MAX (4 * 1024 * 1024)

static const char z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";

/* Every carebus service that subscribes to the bus (tests check the list
 * against services/). */
static const char *const curve_services[] = {
    "channel-ingest", "router", "sla-monitor", "survey", "analytics", "courier",
};

static void curve_fail(char err[CURVE_ERR_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void curve_fail(char err[CURVE_ERR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, CURVE_ERR_MAX, fmt, ap);
    va_end(ap);
}

size_t curve_service_count(void)
{
    return sizeof curve_services / sizeof curve_services[0];
}

const char *curve_service_at(size_t i)
{
    return i < curve_service_count() ? curve_services[i] : NULL;
}

/* --- keys ------------------------------------------------------------------ */

void curve_key_encode(const uint8_t key[CURVE_KEY_BYTES], char out[CURVE_KEY_TEXT + 1])
{
    char *r = zmq_z85_encode(out, key, CURVE_KEY_BYTES);
    assert(r != NULL); /* 32 is a multiple of 4: it cannot fail */
    (void)r;
}

int curve_key_decode(const char *text, size_t len, uint8_t out[CURVE_KEY_BYTES])
{
    if (len != CURVE_KEY_TEXT)
        return -1;
    char z[CURVE_KEY_TEXT + 1];
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0' || !strchr(z85_alphabet, text[i]))
            return -1;
        z[i] = text[i];
    }
    z[len] = '\0';
    /* libzmq also refuses 5-character groups beyond 2^32. */
    return zmq_z85_decode(out, z) ? 0 : -1;
}

int curve_keypair(uint8_t public_key[CURVE_KEY_BYTES], uint8_t secret_key[CURVE_KEY_BYTES])
{
    char pub[CURVE_KEY_TEXT + 1], sec[CURVE_KEY_TEXT + 1];
    if (zmq_curve_keypair(pub, sec) != 0)
        return -1;
    int rc = curve_key_decode(pub, CURVE_KEY_TEXT, public_key) == 0 &&
                     curve_key_decode(sec, CURVE_KEY_TEXT, secret_key) == 0
                 ? 0
                 : -1;
    explicit_bzero(sec, sizeof sec);
    return rc;
}

int curve_public_of(const uint8_t secret_key[CURVE_KEY_BYTES], uint8_t public_key[CURVE_KEY_BYTES])
{
    char pub[CURVE_KEY_TEXT + 1], sec[CURVE_KEY_TEXT + 1];
    curve_key_encode(secret_key, sec);
    int rc =
        zmq_curve_public(pub, sec) == 0 ? curve_key_decode(pub, CURVE_KEY_TEXT, public_key) : -1;
    explicit_bzero(sec, sizeof sec);
    return rc;
}

bool curve_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CURVE_NAME_MAX || strcmp(name, "server") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* --- files --------------------------------------------------------------------- */

/* Reads a whole file of at most max bytes into b. 1 read, 0 no such file,
 * -1 another failure (err set). */
static int curve_file_read(const char *path, size_t max, buf *b, char err[CURVE_ERR_MAX])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        curve_fail(err, "could not open \"%s\": %s", path, strerror(errno));
        return -1;
    }
    int rc = 1;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            curve_fail(err, "could not read \"%s\": %s", path, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        if (b->len + (size_t)n > max) {
            curve_fail(err, "\"%s\" is larger than %zu bytes", path, max);
            rc = -1;
            break;
        }
        buf_append(b, chunk, (size_t)n);
        if (b->failed) {
            curve_fail(err, "out of memory reading \"%s\"", path);
            rc = -1;
            break;
        }
    }
    explicit_bzero(chunk, sizeof chunk);
    close(fd);
    return rc;
}

/* Writes len bytes to path through path.tmp and rename(2), with mode. */
static int curve_file_write(const char *path, const char *data, size_t len, mode_t mode,
                            char err[CURVE_ERR_MAX])
{
    char tmp[PATH_MAX + 8];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        curve_fail(err, "path too long: \"%s\"", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        curve_fail(err, "could not create \"%s\": %s", tmp, strerror(errno));
        return -1;
    }
    size_t off = 0;
    int rc = fchmod(fd, mode); /* whatever the umask */
    while (rc == 0 && off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -1;
        else
            off += (size_t)n;
    }
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        curve_fail(err, "could not write \"%s\": %s", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

static const char *curve_trim(const char *s, size_t *len)
{
    while (*len > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r')) {
        s++;
        (*len)--;
    }
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t' || s[*len - 1] == '\n' ||
                        s[*len - 1] == '\r'))
        (*len)--;
    return s;
}

int curve_key_read(const char *path, uint8_t key[CURVE_KEY_BYTES], char err[CURVE_ERR_MAX])
{
    buf b = {0};
    int rc = curve_file_read(path, CURVE_KEY_FILE_MAX, &b, err);
    if (rc == 1) {
        size_t len = b.len;
        const char *text = curve_trim(b.data ? b.data : "", &len);
        if (curve_key_decode(text, len, key) != 0) {
            curve_fail(err, "\"%s\": expected a key of %d Z85 characters", path, CURVE_KEY_TEXT);
            rc = -1;
        }
    }
    if (b.data)
        explicit_bzero(b.data, b.cap);
    buf_release(&b);
    return rc;
}

int curve_key_write(const char *path, const uint8_t key[CURVE_KEY_BYTES], bool secret,
                    char err[CURVE_ERR_MAX])
{
    char line[CURVE_KEY_TEXT + 2];
    curve_key_encode(key, line);
    line[CURVE_KEY_TEXT] = '\n';
    line[CURVE_KEY_TEXT + 1] = '\0';
    int rc = curve_file_write(path, line, CURVE_KEY_TEXT + 1, secret ? 0600 : 0644, err);
    explicit_bzero(line, sizeof line);
    return rc;
}

/* --- settings ---------------------------------------------------------------- */

/* A key from CAREBUS_<var>, else from the keys folder's file (when both are
 * given). 1 found, 0 not, -1 malformed. */
static int curve_setting(const char *var, const char *dir, const char *file,
                         uint8_t key[CURVE_KEY_BYTES], char err[CURVE_ERR_MAX])
{
    const char *v = config_str(var, NULL);
    if (v) {
        if (curve_key_decode(v, strlen(v), key) != 0) {
            curve_fail(err,
                       "CAREBUS_%s: expected a key of %d Z85 characters "
                       "(carebusctl bus keys makes them)",
                       var, CURVE_KEY_TEXT);
            return -1;
        }
        return 1;
    }
    if (!dir || !file)
        return 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) {
        curve_fail(err, "CAREBUS_BUS_CURVE_DIR: path too long");
        return -1;
    }
    return curve_key_read(path, key, err);
}

int curve_config_load(const char *name, struct curve_config *c, char err[CURVE_ERR_MAX])
{
    memset(c, 0, sizeof *c);
    static const char *const vars[] = {
        "BUS_CURVE_SERVER_PUBLIC_KEY",
        "BUS_CURVE_SERVER_SECRET_KEY",
        "BUS_CURVE_SECRET_KEY",
        "BUS_CURVE_ALLOWED_CLIENTS",
        "BUS_CURVE_DIR",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        c->on |= config_str(vars[i], NULL) != NULL;
    if (!c->on)
        return 0;
    const char *dir = config_str("BUS_CURVE_DIR", NULL);
    if (dir && snprintf(c->dir, sizeof c->dir, "%s", dir) >= (int)sizeof c->dir) {
        curve_fail(err, "CAREBUS_BUS_CURVE_DIR: path too long");
        return -1;
    }
    char client_file[CURVE_NAME_MAX + 8];
    if (name) {
        assert(curve_name_valid(name));
        snprintf(client_file, sizeof client_file, "%s" CURVE_FILE_CLIENT_SUFFIX, name);
    }
    int sp = curve_setting("BUS_CURVE_SERVER_PUBLIC_KEY", dir, CURVE_FILE_SERVER_PUBLIC,
                           c->server_public, err);
    int ss = sp < 0 ? -1
                    : curve_setting("BUS_CURVE_SERVER_SECRET_KEY", dir, CURVE_FILE_SERVER_SECRET,
                                    c->server_secret, err);
    int cs = ss < 0 ? -1
                    : curve_setting("BUS_CURVE_SECRET_KEY", dir, name ? client_file : NULL,
                                    c->secret, err);
    if (cs < 0)
        return -1;
    c->has_server_public = sp == 1;
    c->has_server_secret = ss == 1;
    c->has_secret = cs == 1;
    if (c->has_server_secret) {
        uint8_t derived[CURVE_KEY_BYTES];
        if (curve_public_of(c->server_secret, derived) != 0) {
            curve_fail(err, "could not derive the server's public key (libzmq without CURVE?)");
            return -1;
        }
        if (c->has_server_public && memcmp(derived, c->server_public, sizeof derived) != 0) {
            curve_fail(err,
                       "the server's public key (CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY or %s) "
                       "does not belong to its secret key",
                       CURVE_FILE_SERVER_PUBLIC);
            return -1;
        }
        memcpy(c->server_public, derived, sizeof derived);
        c->has_server_public = true;
    }
    if (c->has_secret && curve_public_of(c->secret, c->public_key) != 0) {
        curve_fail(err, "could not derive the client's public key (libzmq without CURVE?)");
        return -1;
    }
    const char *allowed = config_str("BUS_CURVE_ALLOWED_CLIENTS", NULL);
    int n = allowed ? snprintf(c->allowed, sizeof c->allowed, "%s", allowed)
            : dir   ? snprintf(c->allowed, sizeof c->allowed, "%s/" CURVE_FILE_ALLOWED, dir)
                    : 0;
    if (n >= (int)sizeof c->allowed) {
        curve_fail(err, "CAREBUS_BUS_CURVE_ALLOWED_CLIENTS: path too long");
        return -1;
    }
    return 0;
}

/* --- the allow-list ------------------------------------------------------------ */

/* One line (without its newline): 1 an entry into *out, 0 a blank line or
 * a comment, -1 malformed (why says what). */
static int allowlist_line(const char *line, size_t len, struct curve_client *out, const char **why)
{
    const char *p = curve_trim(line, &len);
    if (len == 0 || p[0] == '#')
        return 0;
    size_t k = 0;
    while (k < len && p[k] != ' ' && p[k] != '\t')
        k++;
    if (curve_key_decode(p, k, out->key) != 0) {
        *why = "expected a public key of 40 Z85 characters first";
        return -1;
    }
    size_t s = k;
    while (s < len && (p[s] == ' ' || p[s] == '\t'))
        s++;
    size_t e = s;
    while (e < len && p[e] != ' ' && p[e] != '\t')
        e++;
    if (e != len || e == s || e - s > CURVE_NAME_MAX) {
        *why = "expected the client's name after its key, and nothing else";
        return -1;
    }
    memcpy(out->name, p + s, e - s);
    out->name[e - s] = '\0';
    if (!curve_name_valid(out->name)) {
        *why = "a name is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (not \"server\")";
        return -1;
    }
    return 1;
}

int curve_allowlist_parse(const char *text, size_t len, struct curve_allowlist *out,
                          char err[CURVE_ERR_MAX])
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    int lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        lineno++;
        struct curve_client cl;
        const char *why = NULL;
        int rc = allowlist_line(text + at, n, &cl, &why);
        if (rc < 0) {
            curve_fail(err, "line %d: %s", lineno, why);
            curve_allowlist_release(out);
            return -1;
        }
        if (rc == 1) {
            if (out->n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct curve_client *v = realloc(out->clients, ncap * sizeof *v);
                if (!v) {
                    curve_fail(err, "out of memory");
                    curve_allowlist_release(out);
                    return -1;
                }
                out->clients = v;
                cap = ncap;
            }
            out->clients[out->n++] = cl;
        }
        at += n + (nl ? 1 : 0);
    }
    return 0;
}

int curve_allowlist_read(const char *path, struct curve_allowlist *out, char err[CURVE_ERR_MAX])
{
    memset(out, 0, sizeof *out);
    buf b = {0};
    int rc = curve_file_read(path, CURVE_LIST_FILE_MAX, &b, err);
    if (rc == 0)
        curve_fail(err, "\"%s\" does not exist", path);
    if (rc == 1) {
        char sub[CURVE_ERR_MAX];
        rc = curve_allowlist_parse(b.data ? b.data : "", b.len, out, sub);
        if (rc != 0)
            curve_fail(err, "%s: %s", path, sub);
    } else {
        rc = -1;
    }
    buf_release(&b);
    return rc == 0 ? 0 : -1;
}

/* XXX: linear; an allow-list holds the services and a few integrators, and
 * it is searched once per handshake, not per message. */
const struct curve_client *curve_allowlist_find(const struct curve_allowlist *l,
                                                const uint8_t key[CURVE_KEY_BYTES])
{
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->clients[i].key, key, CURVE_KEY_BYTES) == 0)
            return &l->clients[i];
    return NULL;
}

const struct curve_client *curve_allowlist_named(const struct curve_allowlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->clients[i].name, name) == 0)
            return &l->clients[i];
    return NULL;
}

bool curve_allowlist_keeps(const struct curve_allowlist *old, const struct curve_allowlist *cur)
{
    for (size_t i = 0; i < old->n; i++)
        if (!curve_allowlist_find(cur, old->clients[i].key))
            return false;
    return true;
}

void curve_allowlist_release(struct curve_allowlist *l)
{
    free(l->clients);
    l->clients = NULL;
    l->n = 0;
}

/* Takes the lock of the folder holding path (waits for it): the open
 * folder, closed to release it, or -1 (err set). */
static int curve_folder_lock(const char *path, char err[CURVE_ERR_MAX])
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof dir) {
        curve_fail(err, "the path \"%s\" is too long", path);
        return -1;
    }
    if (slash && n == 0)
        n = 1; /* "/file": the root */
    memcpy(dir, slash ? path : ".", slash ? n : 1);
    dir[slash ? n : 1] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        curve_fail(err, "could not lock \"%s\": %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int curve_allowlist_edit(const char *path, const struct curve_client *add, const char *remove,
                         int *removed, char err[CURVE_ERR_MAX])
{
    if (removed)
        *removed = 0;
    buf old = {0}, out = {0};
    int lock = curve_folder_lock(path, err);
    if (lock < 0)
        return -1;
    int rc = curve_file_read(path, CURVE_LIST_FILE_MAX, &old, err);
    if (rc < 0)
        goto done;
    const char *text = old.data ? old.data : "";
    /* A file that does not parse is the operator's to mend: editing it
     * could drop what they meant. */
    struct curve_allowlist cur;
    char sub[CURVE_ERR_MAX];
    if (curve_allowlist_parse(text, old.len, &cur, sub) != 0) {
        curve_fail(err, "%s: %s", path, sub);
        rc = -1;
        goto done;
    }
    curve_allowlist_release(&cur);
    rc = 0;
    for (size_t at = 0; at < old.len;) {
        const char *nl = memchr(text + at, '\n', old.len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : old.len - at;
        struct curve_client cl;
        const char *why = NULL;
        if (remove && allowlist_line(text + at, n, &cl, &why) == 1 &&
            strcmp(cl.name, remove) == 0) {
            if (removed)
                (*removed)++;
        } else {
            buf_append(&out, text + at, n);
            buf_putc(&out, '\n');
        }
        at += n + (nl ? 1 : 0);
    }
    if (rc == 0 && add) {
        assert(curve_name_valid(add->name));
        char key[CURVE_KEY_TEXT + 1];
        curve_key_encode(add->key, key);
        buf_printf(&out, "%s %s\n", key, add->name);
    }
    if (out.failed) {
        rc = -1;
        curve_fail(err, "out of memory");
    } else {
        rc = curve_file_write(path, out.data ? out.data : "", out.len, 0644, err);
    }
done:
    close(lock);
    buf_release(&old);
    buf_release(&out);
    return rc;
}
