/* channels.c — carebusctl channels set / list: a sender's settings and
 * credentials, stored in courier.credentials, in place of the environment.
 *
 * `channels set twilio TWILIO_AUTH_TOKEN=... TWILIO_FROM=+84...` stores
 * each setting (named as its CAREBUS_ variable, the prefix optional; for
 * Zalo, access_token and refresh_token are the rotating pair courier
 * keeps); an empty VALUE removes the stored one. The adapter is tried with
 * the stored settings and the new ones before anything is written: a value
 * it refuses, or a name it does not read, is refused. courier picks the
 * change up within seconds, without a restart. Values are never printed,
 * logged or put in an error text: `channels list` shows names only.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebusctl.h"
#include "channels/outbound.h"

#define SETTINGS_MAX 32
#define ROW_NAME_MAX 128

/* The stored settings in res, appended to v from n on (values owned by
 * res); the new count. */
static size_t stored_settings(PGresult *res, struct config_setting *v, size_t n)
{
    for (int i = 0; i < PQntuples(res) && n < 2 * SETTINGS_MAX; i++)
        if (outbound_setting_is_setting(PQgetvalue(res, i, 0)))
            v[n++] = (struct config_setting){PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), false};
    return n;
}

int channels_set(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: carebusctl channels set CHANNEL KEY=VALUE...\n");
        return CTL_USAGE;
    }
    const struct outbound_adapter *a = outbound_adapter_named(argv[0]);
    if (!a) {
        fprintf(stderr, "carebusctl: \"%s\" has no sender of carebus's own\n", argv[0]);
        return CTL_USAGE;
    }
    if (argc - 1 > SETTINGS_MAX) {
        fprintf(stderr, "carebusctl: at most %d settings at once\n", SETTINGS_MAX);
        return CTL_USAGE;
    }
    /* The new values: row names and values (borrowed from argv). */
    char names[SETTINGS_MAX][ROW_NAME_MAX];
    const char *values[SETTINGS_MAX];
    int n = argc - 1;
    for (int i = 0; i < n; i++) {
        char *arg = argv[i + 1], *eq = strchr(arg, '=');
        if (eq)
            *eq = '\0';
        int bad = !eq || outbound_setting_row(a, arg, names[i], sizeof names[i]) != 0;
        if (bad) {
            /* The name only: a mistyped line may hold a secret. */
            fprintf(stderr,
                    "carebusctl: expected KEY=VALUE with KEY a setting's name, got \"%s\"\n",
                    eq ? arg : "(an argument without '=')");
            return CTL_USAGE;
        }
        values[i] = eq + 1;
    }
    db *d = ctl_connect();
    if (!d)
        return CTL_FAILED;
    int rc = CTL_FAILED;
    void *cfg = NULL;
    const char *p1[] = {a->name};
    PGresult *res =
        db_exec(d, "SELECT name, value FROM courier.credentials WHERE channel = $1", 1, p1);
    if (!res) {
        fprintf(stderr, "carebusctl: could not read the stored settings\n");
        goto out;
    }
    /* The adapter tried with what courier will read: the new values over
     * the stored ones over the environment. */
    struct config_setting v[2 * SETTINGS_MAX];
    size_t nv = 0;
    for (int i = 0; i < n; i++)
        if (outbound_setting_is_setting(names[i]))
            v[nv++] = (struct config_setting){names[i], values[i], false};
    size_t nnew = nv;
    nv = stored_settings(res, v, nv);
    char err[256] = "";
    cfg = outbound_configure_with(a, v, nv, err, sizeof err);
    if (!cfg && err[0]) {
        fprintf(stderr, "carebusctl: %s refuses these settings: %s\n", a->name, err);
        rc = CTL_USAGE;
        goto out;
    }
    for (size_t i = 0; cfg && i < nnew; i++)
        if (!v[i].used) {
            fprintf(stderr, "carebusctl: %s is not a setting of %s\n", v[i].name, a->name);
            rc = CTL_USAGE;
            goto out;
        }
    if (db_begin(d) != 0)
        goto out;
    for (int i = 0; i < n; i++) {
        const char *p[] = {a->name, names[i], values[i]};
        int r =
            values[i][0]
                ? db_command(d,
                             "INSERT INTO courier.credentials (channel, name, value)"
                             " VALUES ($1, $2, $3) ON CONFLICT (channel, name) DO UPDATE"
                             " SET value = EXCLUDED.value, expires_at = NULL,"
                             " updated_at = now()",
                             3, p)
                : db_command(d, "DELETE FROM courier.credentials WHERE channel = $1 AND name = $2",
                             2, p);
        if (r != 0) {
            db_rollback(d);
            fprintf(stderr, "carebusctl: could not store %s\n", names[i]);
            goto out;
        }
    }
    if (db_commit(d) != 0) {
        fprintf(stderr, "carebusctl: could not store the settings\n");
        goto out;
    }
    for (int i = 0; i < n; i++)
        printf("%s %s %s\n", a->name, names[i], values[i][0] ? "set" : "removed");
    rc = CTL_OK;
out:
    if (cfg)
        a->destroy(cfg);
    PQclear(res);
    db_destroy(&d);
    return rc;
}

int channels_list(int argc, char **argv)
{
    bool json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 1 || (argc == 1 && !json)) {
        fprintf(stderr, "usage: carebusctl channels list [--json]\n");
        return CTL_USAGE;
    }
    db *d = ctl_connect();
    if (!d)
        return CTL_FAILED;
    /* Never the value: whether one is stored is its row. */
    PGresult *res = db_exec(
        d,
        "SELECT channel, name,"
        " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " coalesce(to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
        " FROM courier.credentials ORDER BY channel, name",
        0, NULL);
    if (!res) {
        fprintf(stderr, "carebusctl: could not read the stored settings\n");
        db_destroy(&d);
        return CTL_FAILED;
    }
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-10s  %-32s  %-8s  %-20s  %s\n", "CHANNEL", "NAME", "VALUE", "UPDATED", "EXPIRES");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *expires = PQgetvalue(res, i, 3);
        if (arr)
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s, s:s?}", "channel", PQgetvalue(res, i, 0),
                               "name", PQgetvalue(res, i, 1), "value", "********", "updated_at",
                               PQgetvalue(res, i, 2), "expires_at", expires[0] ? expires : NULL));
        else
            printf("%-10s  %-32s  %-8s  %-20s  %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                   "********", PQgetvalue(res, i, 2), expires[0] ? expires : "-");
    }
    ctl_print_json(arr);
    PQclear(res);
    db_destroy(&d);
    return CTL_OK;
}
