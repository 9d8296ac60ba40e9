/* keys.c — carebusctl keys create | list | revoke: integrator API keys.
 *
 * A key is shown once, when made; the table keeps its SHA-256 only
 * (apikey.h), so a lost key is revoked and replaced, never recovered.
 * The services reload the table every second: a new key works, and a
 * revoked one is refused (its dashboard sessions too), about a second after
 * the command returns. What a key may do is its scopes (scope.h; default
 * ingest,read), its channels (default all) and, for an agent key, its
 * agent: the agent scope and --agent go together.
 */
#include <assert.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "apikey.h"
#include "auth.h"
#include "carebusctl.h"
#include "config.h"
#include "event.h"
#include "hex.h"
#include "id.h"
#include "scope.h"

#define KEY_NAME_MAX 128
#define CHANNELS_MAX 512
#define SCOPES_MAX 128

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

/* "zalo, email" -> "{zalo,email}" (a text[] literal of known channel
 * names, each once). 0, or -1 after printing the bad name. */
static int channels_literal(const char *list, char *out, size_t size)
{
    bool seen[32] = {false};
    size_t len = 0;
    out[len++] = '{';
    int n = 0;
    while (*list) {
        size_t k = strcspn(list, ",");
        char name[32];
        const char *p = list;
        size_t m = k;
        while (m && *p == ' ')
            p++, m--;
        while (m && p[m - 1] == ' ')
            m--;
        snprintf(name, sizeof name, "%.*s", (int)(m < sizeof name ? m : sizeof name - 1), p);
        Carebus__V1__Channel c;
        if (event_channel_parse(name, &c) != 0) {
            fprintf(stderr, "carebusctl: unknown channel \"%s\" (%s)\n", name,
                    vocab_list(&carebus__v1__channel__descriptor));
            return -1;
        }
        /* channel-ingest keeps a key's channels as bits of 32 (its
         * unit tests check that every channel fits). */
        assert((unsigned)c < sizeof seen / sizeof seen[0]);
        if (!seen[c]) {
            seen[c] = true;
            const char *canon = event_channel_name(c);
            if (len + strlen(canon) + 3 > size)
                return -1;
            if (n++)
                out[len++] = ',';
            memcpy(out + len, canon, strlen(canon));
            len += strlen(canon);
        }
        list += k;
        if (*list == ',')
            list++;
    }
    if (n == 0) {
        fprintf(stderr, "carebusctl: --channels names no channel\n");
        return -1;
    }
    out[len++] = '}';
    out[len] = '\0';
    return 0;
}

/* "ingest,read" (scopes: canonical, the list's order) -> ["ingest","read"]. */
static json_t *list_json(const char *list)
{
    json_t *a = json_array();
    while (a && *list) {
        size_t k = strcspn(list, ",");
        json_array_append_new(a, json_stringn(list, k));
        list += k;
        if (*list == ',')
            list++;
    }
    return a;
}

/* "zalo,email" -> ["zalo","email"]; NULL (every channel) -> JSON null. */
static json_t *channels_json(const char *list)
{
    return list ? list_json(list) : json_null();
}

/* --scopes and --agent: the scopes as a text[] literal and their
 * canonical spelling. 0, or -1 after printing why. */
static int scopes_literal(const struct key_opts *o, char *literal, char *shown, size_t size)
{
    unsigned mask = AUTH_DEFAULT_SCOPES;
    char bad[32];
    if (o->scopes && scope_parse(o->scopes, &mask, bad, sizeof bad) != 0) {
        fprintf(stderr, "carebusctl: unknown scope \"%s\" (%s)\n", bad, scope_names());
        return -1;
    }
    if (!mask) {
        fprintf(stderr, "carebusctl: --scopes names no scope (%s)\n", scope_names());
        return -1;
    }
    if ((mask & SCOPE_AGENT) && !o->agent) {
        fprintf(stderr, "carebusctl: an agent key acts as one agent: give --agent ID\n");
        return -1;
    }
    if (o->agent && !(mask & SCOPE_AGENT)) {
        fprintf(stderr, "carebusctl: --agent needs the agent scope (--scopes agent,...)\n");
        return -1;
    }
    if (scope_format(mask, shown, size) < 0 || snprintf(literal, size, "{%s}", shown) >= (int)size)
        return -1;
    return 0;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > KEY_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int keys_create(int argc, char **argv)
{
    struct key_opts o;
    if (parse_opts(argc, argv, true, false, &o) != 0)
        return CTL_USAGE;
    if (!o.name || !name_ok(o.name)) {
        fprintf(stderr, "carebusctl: keys create needs --name NAME (1 to %d characters)\n",
                KEY_NAME_MAX);
        return CTL_USAGE;
    }
    char channels[CHANNELS_MAX];
    if (o.channels && channels_literal(o.channels, channels, sizeof channels) != 0)
        return CTL_USAGE;
    char scopes[SCOPES_MAX], scopes_shown[SCOPES_MAX];
    if (scopes_literal(&o, scopes, scopes_shown, sizeof scopes) != 0)
        return CTL_USAGE;
    if (o.agent && (!name_ok(o.agent) || strlen(o.agent) > ACCESS_AGENT_MAX)) {
        fprintf(stderr, "carebusctl: --agent needs an agent id of 1 to %d bytes\n",
                ACCESS_AGENT_MAX);
        return CTL_USAGE;
    }

    db *d = ctl_connect();
    if (!d)
        return CTL_FAILED;
    int rc = CTL_FAILED;
    char key[APIKEY_LEN], id[ID_LEN], hex[2 * APIKEY_HASH_LEN + 1];
    unsigned char hash[APIKEY_HASH_LEN];
    if (apikey_generate(key) != 0 || apikey_hash(key, strlen(key), hash) != 0) {
        fprintf(stderr, "carebusctl: could not generate a key (OpenSSL's random generator)\n");
        goto out;
    }
    id_new(id);
    hex_encode(hash, sizeof hash, hex);
    const char *params[] = {id, o.name, hex, o.channels ? channels : NULL, scopes, o.agent};
    if (db_command(d,
                   "INSERT INTO ingest.api_keys (id, name, key_hash, channels, scopes, agent_id)"
                   " VALUES ($1, $2, decode($3, 'hex'), $4::text[], $5::text[], $6)",
                   6, params) != 0) {
        fprintf(stderr, "carebusctl: could not store the key\n");
        goto out;
    }
    /* "{zalo,email}" shown as "zalo,email". */
    char shown[CHANNELS_MAX] = "all";
    if (o.channels)
        snprintf(shown, sizeof shown, "%.*s", (int)strlen(channels) - 2, channels + 1);
    if (o.json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s?}", "id", id, "name", o.name, "key",
                              key, "channels", channels_json(o.channels ? shown : NULL), "scopes",
                              list_json(scopes_shown), "agent_id", o.agent);
        ctl_print_json(j);
    } else {
        printf("id:       %s\nname:     %s\nchannels: %s\nscopes:   %s\nagent:    %s\n"
               "key:      %s\n\n"
               "Keep the key now: it is shown only this once (carebus stores its SHA-256).\n",
               id, o.name, shown, scopes_shown, o.agent ? o.agent : "-", key);
    }
    rc = CTL_OK;
out:
    OPENSSL_cleanse(key, sizeof key);
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
    PGresult *res =
        db_exec(d,
                "SELECT id::text, name, coalesce(array_to_string(channels, ','), ''),"
                " channels IS NULL,"
                " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                " coalesce(to_char(revoked_at AT TIME ZONE 'UTC',"
                "                  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
                " array_to_string(scopes, ','), coalesce(agent_id, '')"
                " FROM ingest.api_keys ORDER BY created_at, id",
                0, NULL);
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
        bool all = PQgetvalue(res, i, 3)[0] == 't';
        const char *ch = all ? "all" : PQgetvalue(res, i, 2);
        const char *revoked = PQgetvalue(res, i, 5);
        const char *scopes = PQgetvalue(res, i, 6), *agent = PQgetvalue(res, i, 7);
        if (arr) {
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:o, s:o, s:s?, s:s, s:s?}", "id", PQgetvalue(res, i, 0),
                               "name", PQgetvalue(res, i, 1), "channels",
                               channels_json(all ? NULL : ch), "scopes", list_json(scopes),
                               "agent_id", agent[0] ? agent : NULL, "created_at",
                               PQgetvalue(res, i, 4), "revoked_at", revoked[0] ? revoked : NULL));
        } else {
            printf("%-36s  %-24s  %-20s  %-24s  %-16s  %-20s  %s\n", PQgetvalue(res, i, 0),
                   PQgetvalue(res, i, 1), ch, scopes, agent[0] ? agent : "-", PQgetvalue(res, i, 4),
                   revoked[0] ? revoked : "-");
        }
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
    PGresult *res = db_exec(d,
                            "WITH upd AS (UPDATE ingest.api_keys SET revoked_at = now()"
                            "              WHERE id = $1 AND revoked_at IS NULL RETURNING name)"
                            " SELECT name, true FROM upd"
                            " UNION ALL"
                            " SELECT name, false FROM ingest.api_keys"
                            "  WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM upd)",
                            1, params);
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
