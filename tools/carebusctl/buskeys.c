/* buskeys.c — carebusctl bus keys | allow | revoke | list: who may read the bus.
 *
 * `bus keys --dir DIR` makes what the keys folder lacks — the server's pair
 * and one client pair per carebus service, their public keys in the
 * allow-list — and keeps what is there, so that it can run at every start
 * (compose's one-shot service, `make run`). Without a folder it prints a
 * fresh set as environment lines. An integrator's pair (`bus allow NAME`) is
 * printed once and only its public key is kept, in the allow-list: a lost
 * secret key is revoked and replaced, as with API keys. The folder and
 * allow-list are the services' own settings (CAREBUS_BUS_CURVE_DIR,
 * CAREBUS_BUS_CURVE_ALLOWED_CLIENTS; --dir stands for the first), so that
 * after `. var/env` the commands need no option. Needs no database.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carebusctl.h"
#include "curve.h"

struct bus_opts {
    const char *dir;
    bool json;
    const char *positional;
};

static int bus_parse(int argc, char **argv, bool allow_positional, struct bus_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--dir") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "carebusctl: --dir needs a value\n");
                return -1;
            }
            o->dir = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (allow_positional && a[0] != '-' && !o->positional) {
            o->positional = a;
        } else {
            fprintf(stderr, "carebusctl: unexpected argument \"%s\"\n", a);
            return -1;
        }
    }
    return 0;
}

/* The settings as a service would read them, --dir standing for
 * CAREBUS_BUS_CURVE_DIR. 0, or -1 after printing why. */
static int bus_settings(const struct bus_opts *o, struct curve_config *c)
{
    if (o->dir && setenv("CAREBUS_BUS_CURVE_DIR", o->dir, 1) != 0)
        return -1;
    char err[CURVE_ERR_MAX];
    if (curve_config_load(NULL, c, err) != 0) {
        fprintf(stderr, "carebusctl: %s\n", err);
        return -1;
    }
    if (!c->allowed[0]) {
        fprintf(stderr, "carebusctl: which allow-list? Give --dir DIR (the keys folder), or set "
                        "CAREBUS_BUS_CURVE_DIR or CAREBUS_BUS_CURVE_ALLOWED_CLIENTS\n");
        return -1;
    }
    return 0;
}

/* --- bus keys ------------------------------------------------------------------ */

/* A path in the keys folder. */
static int bus_path(char *out, size_t size, const char *dir, const char *file)
{
    if (snprintf(out, size, "%s/%s", dir, file) >= (int)size) {
        fprintf(stderr, "carebusctl: path too long: %s/%s\n", dir, file);
        return -1;
    }
    return 0;
}

/* Reads the pair whose secret key is at path, or makes and writes one
 * (*made set). 0 or -1 after printing why. */
static int bus_pair(const char *path, uint8_t pub[CURVE_KEY_BYTES], uint8_t sec[CURVE_KEY_BYTES],
                    bool *made)
{
    char err[CURVE_ERR_MAX];
    int rc = curve_key_read(path, sec, err);
    *made = rc == 0;
    if (rc == 0 && (curve_keypair(pub, sec) != 0 || curve_key_write(path, sec, true, err) != 0)) {
        rc = -1;
        if (!err[0])
            snprintf(err, sizeof err, "could not make a key pair (libzmq without CURVE?)");
    }
    if (rc == 1 && curve_public_of(sec, pub) != 0) {
        snprintf(err, sizeof err, "could not derive the public key of \"%s\"", path);
        rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "carebusctl: %s\n", err);
        return -1;
    }
    return 0;
}

/* Makes what DIR lacks. */
static int bus_keys_dir(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "carebusctl: could not create \"%s\": %s\n", dir, strerror(errno));
        return CTL_FAILED;
    }
    char path[PATH_MAX], allowed[PATH_MAX], err[CURVE_ERR_MAX] = "";
    uint8_t pub[CURVE_KEY_BYTES], sec[CURVE_KEY_BYTES], old[CURVE_KEY_BYTES];
    bool made;
    int n = 0, rc = CTL_FAILED;
    if (bus_path(path, sizeof path, dir, CURVE_FILE_SERVER_SECRET) != 0 ||
        bus_pair(path, pub, sec, &made) != 0 ||
        bus_path(path, sizeof path, dir, CURVE_FILE_SERVER_PUBLIC) != 0)
        goto out;
    n += made;
    /* The public file follows its secret key (a replaced pair included). */
    int have = curve_key_read(path, old, err);
    if (have != 1 || memcmp(old, pub, sizeof pub) != 0) {
        if (have != 0 && !made)
            fprintf(stderr, "carebusctl: replacing %s (%s)\n", path,
                    have < 0 ? err : "not the public half of the server's secret key");
        if (curve_key_write(path, pub, false, err) != 0) {
            fprintf(stderr, "carebusctl: %s\n", err);
            goto out;
        }
    }
    if (made)
        printf("made the server key pair (%s, %s)\n", CURVE_FILE_SERVER_SECRET,
               CURVE_FILE_SERVER_PUBLIC);

    if (bus_path(allowed, sizeof allowed, dir, CURVE_FILE_ALLOWED) != 0)
        goto out;
    struct curve_allowlist list;
    if (curve_allowlist_edit(allowed, NULL, NULL, NULL, err) != 0 || /* made when missing */
        curve_allowlist_read(allowed, &list, err) != 0) {
        fprintf(stderr, "carebusctl: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < curve_service_count(); i++) {
        const char *svc = curve_service_at(i);
        char file[CURVE_NAME_MAX + 8];
        snprintf(file, sizeof file, "%s" CURVE_FILE_CLIENT_SUFFIX, svc);
        if (bus_path(path, sizeof path, dir, file) != 0 || bus_pair(path, pub, sec, &made) != 0)
            goto out_list;
        const struct curve_client *cl = curve_allowlist_named(&list, svc);
        if (made)
            printf("made the key pair of %s (%s)\n", svc, file);
        n += made;
        if (cl && memcmp(cl->key, pub, sizeof pub) == 0)
            continue;
        struct curve_client add = {.name = ""};
        memcpy(add.key, pub, sizeof pub);
        snprintf(add.name, sizeof add.name, "%s", svc);
        /* A stale line for the service (its key was replaced) goes. */
        if (curve_allowlist_edit(allowed, &add, svc, NULL, err) != 0) {
            fprintf(stderr, "carebusctl: %s\n", err);
            goto out_list;
        }
        printf("allowed %s\n", svc);
        n++;
    }
    if (n == 0)
        printf("%s has every key already\n", dir);
    rc = CTL_OK;
out_list:
    curve_allowlist_release(&list);
out:
    explicit_bzero(sec, sizeof sec);
    return rc;
}

/* A fresh set, printed. */
static int bus_keys_print(void)
{
    uint8_t pub[CURVE_KEY_BYTES], sec[CURVE_KEY_BYTES];
    char tp[CURVE_KEY_TEXT + 1], ts[CURVE_KEY_TEXT + 1];
    size_t ns = curve_service_count();
    char(*allowed)[CURVE_KEY_TEXT + 1] = calloc(ns, sizeof *allowed);
    int rc = CTL_FAILED;
    if (!allowed || curve_keypair(pub, sec) != 0)
        goto out;
    curve_key_encode(pub, tp);
    curve_key_encode(sec, ts);
    printf("# The bus's CURVE keys (carebusctl bus keys): keep the secret ones secret.\n"
           "# Z85 keys hold characters a shell interprets: keep the single quotes.\n"
           "# Every service:\n"
           "CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY='%s'\n"
           "# Every service that publishes (the server's secret key and the allow-list file,\n"
           "# whose lines are at the end):\n"
           "CAREBUS_BUS_CURVE_SERVER_SECRET_KEY='%s'\n"
           "CAREBUS_BUS_CURVE_ALLOWED_CLIENTS=/path/to/allowed-clients\n",
           tp, ts);
    for (size_t i = 0; i < ns; i++) {
        if (curve_keypair(pub, sec) != 0)
            goto out;
        curve_key_encode(pub, allowed[i]);
        curve_key_encode(sec, ts);
        printf("# %s:\nCAREBUS_BUS_CURVE_SECRET_KEY='%s'\n", curve_service_at(i), ts);
    }
    printf("# The allow-list file (integrators: carebusctl bus allow NAME):\n");
    for (size_t i = 0; i < ns; i++)
        printf("%s %s\n", allowed[i], curve_service_at(i));
    rc = CTL_OK;
out:
    if (rc != CTL_OK)
        fprintf(stderr, "carebusctl: could not make a key pair (libzmq without CURVE?)\n");
    explicit_bzero(sec, sizeof sec);
    explicit_bzero(ts, sizeof ts);
    free(allowed);
    return rc;
}

int buskeys_make(int argc, char **argv)
{
    struct bus_opts o;
    if (bus_parse(argc, argv, false, &o) != 0 || o.json)
        return CTL_USAGE;
    return o.dir ? bus_keys_dir(o.dir) : bus_keys_print();
}

/* --- bus allow, revoke, list --------------------------------------------------------- */

int buskeys_allow(int argc, char **argv)
{
    struct bus_opts o;
    if (bus_parse(argc, argv, true, &o) != 0 || !o.positional) {
        fprintf(stderr, "carebusctl: bus allow needs the subscriber's NAME\n");
        return CTL_USAGE;
    }
    if (!curve_name_valid(o.positional)) {
        fprintf(stderr,
                "carebusctl: a name is 1 to %d characters of A-Z, a-z, 0-9, '.', '_' "
                "and '-' (not \"server\")\n",
                CURVE_NAME_MAX);
        return CTL_USAGE;
    }
    struct curve_config c;
    if (bus_settings(&o, &c) != 0)
        return CTL_FAILED;
    if (!c.has_server_public) {
        fprintf(stderr, "carebusctl: the server's public key is unknown: run carebusctl bus keys "
                        "--dir DIR first, or set CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY\n");
        return CTL_FAILED;
    }
    char err[CURVE_ERR_MAX];
    struct curve_allowlist list;
    int exists = -1;
    if (curve_allowlist_read(c.allowed, &list, err) == 0) {
        exists = curve_allowlist_named(&list, o.positional) != NULL;
        curve_allowlist_release(&list);
    } else if (access(c.allowed, F_OK) != 0) {
        exists = 0; /* made by the edit below */
    }
    if (exists != 0) {
        if (exists < 0)
            fprintf(stderr, "carebusctl: %s\n", err);
        else
            fprintf(stderr, "carebusctl: \"%s\" is allowed already (bus revoke it first)\n",
                    o.positional);
        return CTL_FAILED;
    }
    struct curve_client add = {.name = ""};
    uint8_t sec[CURVE_KEY_BYTES];
    int rc = CTL_FAILED;
    if (curve_keypair(add.key, sec) != 0) {
        fprintf(stderr, "carebusctl: could not make a key pair (libzmq without CURVE?)\n");
        goto out;
    }
    snprintf(add.name, sizeof add.name, "%s", o.positional);
    if (curve_allowlist_edit(c.allowed, &add, NULL, NULL, err) != 0) {
        fprintf(stderr, "carebusctl: %s\n", err);
        goto out;
    }
    char server[CURVE_KEY_TEXT + 1], pub[CURVE_KEY_TEXT + 1], secret[CURVE_KEY_TEXT + 1];
    curve_key_encode(c.server_public, server);
    curve_key_encode(add.key, pub);
    curve_key_encode(sec, secret);
    if (o.json) {
        ctl_print_json(json_pack("{s:s, s:s, s:s, s:s}", "name", add.name, "server_key", server,
                                 "public_key", pub, "secret_key", secret));
    } else {
        printf("# The bus key of \"%s\", for its subscriber (a CURVE client: set the server key,\n"
               "# the public key and the secret key on its SUB socket). Keep the secret key now:\n"
               "# it is shown only this once; the allow-list keeps the public key.\n"
               "CAREBUS_BUS_CURVE_SERVER_PUBLIC_KEY='%s'\n"
               "CAREBUS_BUS_CURVE_PUBLIC_KEY='%s'\n"
               "CAREBUS_BUS_CURVE_SECRET_KEY='%s'\n",
               add.name, server, pub, secret);
    }
    explicit_bzero(secret, sizeof secret);
    rc = CTL_OK;
out:
    explicit_bzero(sec, sizeof sec);
    explicit_bzero(&c, sizeof c);
    return rc;
}

int buskeys_revoke(int argc, char **argv)
{
    struct bus_opts o;
    if (bus_parse(argc, argv, true, &o) != 0 || !o.positional || o.json) {
        fprintf(stderr, "carebusctl: bus revoke needs the subscriber's NAME (see bus list)\n");
        return CTL_USAGE;
    }
    struct curve_config c;
    if (bus_settings(&o, &c) != 0)
        return CTL_FAILED;
    char err[CURVE_ERR_MAX];
    int removed = 0;
    int rc = curve_allowlist_edit(c.allowed, NULL, o.positional, &removed, err);
    explicit_bzero(&c, sizeof c);
    if (rc != 0) {
        fprintf(stderr, "carebusctl: %s\n", err);
        return CTL_FAILED;
    }
    if (removed == 0) {
        fprintf(stderr, "carebusctl: no subscriber named \"%s\" (see bus list)\n", o.positional);
        return CTL_FAILED;
    }
    printf("revoked \"%s\": the publishers drop it within about a second\n", o.positional);
    return CTL_OK;
}

int buskeys_list(int argc, char **argv)
{
    struct bus_opts o;
    if (bus_parse(argc, argv, false, &o) != 0)
        return CTL_USAGE;
    struct curve_config c;
    if (bus_settings(&o, &c) != 0)
        return CTL_FAILED;
    char err[CURVE_ERR_MAX];
    struct curve_allowlist list;
    int rc = curve_allowlist_read(c.allowed, &list, err);
    explicit_bzero(&c, sizeof c);
    if (rc != 0) {
        fprintf(stderr, "carebusctl: %s\n", err);
        return CTL_FAILED;
    }
    json_t *arr = o.json ? json_array() : NULL;
    if (!o.json)
        printf("%-40s  %s\n", "PUBLIC KEY", "NAME");
    for (size_t i = 0; i < list.n; i++) {
        char key[CURVE_KEY_TEXT + 1];
        curve_key_encode(list.clients[i].key, key);
        if (arr)
            json_array_append_new(
                arr, json_pack("{s:s, s:s}", "name", list.clients[i].name, "public_key", key));
        else
            printf("%-40s  %s\n", key, list.clients[i].name);
    }
    if (arr)
        ctl_print_json(arr);
    curve_allowlist_release(&list);
    return CTL_OK;
}
