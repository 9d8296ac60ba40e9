/* keys.c — carebusctl keys create | list | revoke: integrator API keys.
 *
 * A key is shown once, when made; the table keeps its SHA-256 only
 * (apikey.h), so a lost key is revoked and replaced, never recovered.
 * The services reload the table every second: a new key works, and a
 * revoked one is refused (its dashboard sessions too), about a second after
 * the command returns. What a key may do is its scopes (scope.h; default
 * ingest,read), its channels (default all) and, for an agent key, its
 * agent: the agent scope and --agent go together. The rules, the
 * statements and the JSON are keyspec.h's, the same as POST, GET and
 * DELETE /v1/keys (channel-ingest's keys.c).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "carebusctl.h"
#include "config.h"
#include "id.h"
#include "keyspec.h"
#include "timeutil.h"

db *ctl_connect(void)
{
    db *d = db_new(config_str("PG", CONFIG_DEFAULT_PG), "carebusctl");
    if (!d) {
        fprintf(stderr, "carebusctl: out of memory\n");
        return NULL;
    }
    db_set_apply_migrations(d, true);
    if (db_ensure(d) != 0) {
        fprintf(stderr,
                "carebusctl: could not connect to PostgreSQL or apply the migrations "
                "(CAREBUS_PG=\"%s\")\n",
                config_str("PG", CONFIG_DEFAULT_PG));
        db_destroy(&d);
    }
    return d;
}

void ctl_print_json(json_t *j)
{
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (txt)
        printf("%s\n", txt);
    free(txt);
    json_decref(j);
}

/* Option parsing shared by the commands: --name V, --channels V,
 * --scopes V, --agent V, --json. */
struct key_opts {
    const char *name;
    const char *channels;
    const char *scopes;
    const char *agent;
    bool json;
    const char *positional;
};

static int parse_opts(int argc, char **argv, bool allow_name, bool allow_positional,
                      struct key_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **value = !allow_name                    ? NULL
                             : strcmp(a, "--name") == 0     ? &o->name
                             : strcmp(a, "--channels") == 0 ? &o->channels
                             : strcmp(a, "--scopes") == 0   ? &o->scopes
                             : strcmp(a, "--agent") == 0    ? &o->agent
                                                            : NULL;
        if (value) {
            if (i + 1 == argc) {
                fprintf(stderr, "carebusctl: %s needs a value\n", a);
                return -1;
            }
            *value = argv[++i];
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

/* The key as --json prints it: its row, and the secret. */
static void print_made(const PGresult *res, const char *key, bool as_json)
{
    if (as_json) {
        json_t *j = keyspec_row_json(res, 0);
        if (j)
            json_object_set_new(j, "key", json_string(key));
        ctl_print_json(j);
        return;
    }
    const char *agent = PQgetisnull(res, 0, 4) ? "-" : PQgetvalue(res, 0, 4);
    printf("id:       %s\nname:     %s\nchannels: %s\nscopes:   %s\nagent:    %s\n"
           "key:      %s\n\n"
           "Keep the key now: it is shown only this once (carebus stores its SHA-256).\n",
           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), keyspec_row_channels(res, 0),
           PQgetvalue(res, 0, 3), agent, key);
}

int keys_create(int argc, char **argv)
{
    struct key_opts o;
    if (parse_opts(argc, argv, true, false, &o) != 0)
        return CTL_USAGE;
    /* The rules are POST /v1/keys's (keyspec.h); their messages name the
     * API's fields, which are these options. */
    struct keyspec spec;
    struct keyspec_error err;
    keyspec_init(&spec);
    spec.name = o.name;
    spec.agent_id = o.agent;
    if (keyspec_set_lists(&spec, o.scopes, o.channels, &err) != 0 ||
        keyspec_check(&spec, time_now_us(), &err) != 0) {
        size_t n = strcspn(err.field, "[");
        fprintf(stderr, "carebusctl: %s (--%.*s)\n", err.message,
                strcmp(err.field, "agent_id") == 0 ? 5 : (int)n,
                strcmp(err.field, "agent_id") == 0 ? "agent" : err.field);
        return CTL_USAGE;
    }

    db *d = ctl_connect();
    if (!d)
        return CTL_FAILED;
    int rc = CTL_FAILED;
    struct keyspec_new k;
    PGresult *res = NULL;
    if (keyspec_mint(&spec, &k) != 0) {
        fprintf(stderr, "carebusctl: could not generate a key (OpenSSL's random generator)\n");
        goto out;
    }
    res = db_exec(d, KEYSPEC_SQL_INSERT, KEYSPEC_INSERT_PARAMS, k.params);
    if (!res || PQntuples(res) != 1) {
        fprintf(stderr, "carebusctl: could not store the key\n");
        goto out;
    }
    print_made(res, k.key, o.json);
    rc = CTL_OK;
out:
    PQclear(res);
    keyspec_wipe(&k);
    db_destroy(&d);
    return rc;
}

int keys_list(int argc, char **argv)
{
    struct key_opts o;
    if (parse_opts(argc, argv, false, false, &o) != 0)
        return CTL_USAGE;
    db *d = ctl_connect();
    if (!d)
        return CTL_FAILED;
    PGresult *res = db_exec(d, KEYSPEC_SQL_LIST, 0, NULL);
    if (!res) {
        fprintf(stderr, "carebusctl: could not read the keys\n");
        db_destroy(&d);
        return CTL_FAILED;
    }
    int n = PQntuples(res);
    json_t *arr = o.json ? json_array() : NULL;
    if (!o.json)
        printf("%-36s  %-24s  %-20s  %-24s  %-16s  %-20s  %s\n", "ID", "NAME", "CHANNELS", "SCOPES",
               "AGENT", "CREATED", "REVOKED");
    for (int i = 0; i < n; i++) {
        if (arr) {
            json_array_append_new(arr, keyspec_row_json(res, i));
            continue;
        }
        const char *agent = PQgetisnull(res, i, 4) ? "-" : PQgetvalue(res, i, 4);
        const char *revoked = PQgetisnull(res, i, 7) ? "-" : PQgetvalue(res, i, 7);
        printf("%-36s  %-24s  %-20s  %-24s  %-16s  %-20s  %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), keyspec_row_channels(res, i), PQgetvalue(res, i, 3), agent,
               PQgetvalue(res, i, 5), revoked);
    }
    ctl_print_json(arr);
    PQclear(res);
    db_destroy(&d);
    return CTL_OK;
}

int keys_revoke(int argc, char **argv)
{
    struct key_opts o;
    if (parse_opts(argc, argv, false, true, &o) != 0 || !o.positional) {
        fprintf(stderr, "carebusctl: keys revoke needs the key's ID (see keys list)\n");
        return CTL_USAGE;
    }
    if (!id_valid(o.positional)) {
        fprintf(stderr, "carebusctl: \"%s\" is not a key ID (a UUID, see keys list)\n",
                o.positional);
        return CTL_USAGE;
    }
    db *d = ctl_connect();
    if (!d)
        return CTL_FAILED;
    int rc = CTL_FAILED;
    const char *params[] = {o.positional};
    /* The row as it is after the statement: revoked now, or before. */
    PGresult *res = db_exec(d, KEYSPEC_SQL_REVOKE, 1, params);
    if (!res) {
        fprintf(stderr, "carebusctl: could not revoke the key\n");
    } else if (PQntuples(res) == 0) {
        fprintf(stderr, "carebusctl: no key with ID %s\n", o.positional);
    } else {
        bool now = PQgetvalue(res, 0, 1)[0] == 't';
        printf("%s key %s (%s)\n", now ? "revoked" : "already revoked:", o.positional,
               PQgetvalue(res, 0, 0));
        rc = CTL_OK;
    }
    PQclear(res);
    db_destroy(&d);
    return rc;
}
