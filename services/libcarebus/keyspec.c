/* keyspec.c — a new API key's request checked, the key made, its row as
 * JSON.
 */
#include "keyspec.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "hex.h"
#include "utf8.h"
#include "vocab.h"

static int fail(struct keyspec_error *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct keyspec_error *e, const char *field, const char *fmt, ...)
{
    snprintf(e->field, sizeof e->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

void keyspec_init(struct keyspec *s)
{
    *s = (struct keyspec){.scopes = KEYSPEC_DEFAULT_SCOPES, .channels = ACCESS_ALL_CHANNELS};
}

/* 1 to max bytes of UTF-8, not only blanks, without control characters:
 * a key's name and an agent id. */
static bool text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || strspn(s, " ") == n || !utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int keyspec_set_scopes(struct keyspec *s, const char *const *names, size_t n,
                       struct keyspec_error *e)
{
    if (n == 0)
        return fail(e, "scopes", "a key needs at least one scope (%s)", scope_names());
    if (n > KEYSPEC_LIST_MAX)
        return fail(e, "scopes", "at most %d scopes", KEYSPEC_LIST_MAX);
    unsigned mask = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned m = 0;
        const char *known = NULL;
        /* One exact name: no list, no blanks (scope_parse allows both). */
        if (!strchr(names[i], ',') && scope_parse(names[i], &m, NULL, 0) == 0)
            known = scope_name(m);
        if (!known || strcmp(known, names[i]) != 0) {
            char field[24];
            snprintf(field, sizeof field, "scopes[%zu]", i);
            return fail(e, field, "unknown scope \"%.64s\" (%s)", names[i], scope_names());
        }
        mask |= m;
    }
    s->scopes = mask;
    return 0;
}

int keyspec_set_channels(struct keyspec *s, const char *const *names, size_t n,
                         struct keyspec_error *e)
{
    if (n == 0)
        return fail(e, "channels", "a key limited to channels needs at least one (%s)",
                    vocab_list(&carebus__v1__channel__descriptor));
    if (n > KEYSPEC_LIST_MAX)
        return fail(e, "channels", "at most %d channels", KEYSPEC_LIST_MAX);
    uint32_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        Carebus__V1__Channel c;
        /* A key keeps its channels as bits of 32 (access.h). */
        if (event_channel_parse(names[i], &c) != 0 || (unsigned)c >= 32) {
            char field[24];
            snprintf(field, sizeof field, "channels[%zu]", i);
            return fail(e, field, "unknown channel \"%.64s\" (%s)", names[i],
                        vocab_list(&carebus__v1__channel__descriptor));
        }
        mask |= UINT32_C(1) << c;
    }
    s->channels = mask;
    return 0;
}

/* "a, b,,c" -> {"a","b","c"} in buf. 0, or -1 with e. */
static int split(const char *list, const char *field, char *buf, size_t size, const char **names,
                 size_t *n, struct keyspec_error *e)
{
    if (strlen(list) >= size)
        return fail(e, field, "the list of %s is too long", field);
    memcpy(buf, list, strlen(list) + 1);
    *n = 0;
    for (char *p = buf; *p;) {
        size_t k = strcspn(p, ",");
        char *next = p[k] ? p + k + 1 : p + k;
        p[k] = '\0';
        while (*p == ' ')
            p++;
        size_t m = strlen(p);
        while (m && p[m - 1] == ' ')
            p[--m] = '\0';
        if (m) {
            if (*n == KEYSPEC_LIST_MAX)
                return fail(e, field, "at most %d %s", KEYSPEC_LIST_MAX, field);
            names[(*n)++] = p;
        }
        p = next;
    }
    return 0;
}

int keyspec_set_lists(struct keyspec *s, const char *scopes, const char *channels,
                      struct keyspec_error *e)
{
    char buf[1024];
    const char *names[KEYSPEC_LIST_MAX];
    size_t n;
    if (scopes && (split(scopes, "scopes", buf, sizeof buf, names, &n, e) != 0 ||
                   keyspec_set_scopes(s, names, n, e) != 0))
        return -1;
    if (channels && (split(channels, "channels", buf, sizeof buf, names, &n, e) != 0 ||
                     keyspec_set_channels(s, names, n, e) != 0))
        return -1;
    return 0;
}

int keyspec_check(const struct keyspec *s, int64_t now_us, struct keyspec_error *e)
{
    if (!s->name)
        return fail(e, "name", "a key needs a name (who uses it: \"zalo bridge\")");
    if (!text_ok(s->name, KEYSPEC_NAME_MAX))
        return fail(e, "name", "a key's name is 1 to %d bytes of UTF-8 without control characters",
                    KEYSPEC_NAME_MAX);
    if (!s->scopes)
        return fail(e, "scopes", "a key needs at least one scope (%s)", scope_names());
    bool agent = s->agent_id != NULL;
    if ((s->scopes & SCOPE_AGENT) && !agent)
        return fail(e, "agent_id",
                    "a key with the agent scope acts as one agent: it needs that agent's id");
    if (agent && !(s->scopes & SCOPE_AGENT))
        return fail(e, "agent_id", "an agent id is for a key with the agent scope only");
    if (agent && !text_ok(s->agent_id, ACCESS_AGENT_MAX))
        return fail(e, "agent_id",
                    "an agent id is 1 to %d bytes of UTF-8 without control characters",
                    ACCESS_AGENT_MAX);
    if (s->expires_us && s->expires_us <= now_us)
        return fail(e, "expires_at", "a key's expiry must be in the future");
    return 0;
}

void keyspec_grant(const struct keyspec *s, const char *id, struct access_grant *g)
{
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", id ? id : "");
    g->scopes = s->scopes;
    g->channels = s->channels;
    snprintf(g->agent_id, sizeof g->agent_id, "%s", s->agent_id ? s->agent_id : "");
    g->expires_us = s->expires_us;
}

int keyspec_mint(const struct keyspec *s, struct keyspec_new *k)
{
    unsigned char hash[APIKEY_HASH_LEN];
    memset(k, 0, sizeof *k);
    if (apikey_generate(k->key) != 0 || apikey_hash(k->key, strlen(k->key), hash) != 0) {
        keyspec_wipe(k);
        return -1;
    }
    id_new(k->id);
    hex_encode(hash, sizeof hash, k->hash_hex);
    char shown[sizeof k->scopes - 2];
    struct access_grant g;
    keyspec_grant(s, k->id, &g);
    if (scope_format(s->scopes, shown, sizeof shown) < 0) {
        keyspec_wipe(k);
        return -1;
    }
    snprintf(k->scopes, sizeof k->scopes, "{%s}", shown);
    /* NULL for every channel; a limited key's list always fits. */
    const char *channels = access_channels_param(&g, k->channels, sizeof k->channels);
    if (s->expires_us)
        snprintf(k->expires, sizeof k->expires, "%lld", (long long)s->expires_us);
    const char *p[KEYSPEC_INSERT_PARAMS] = {k->id,
                                            s->name,
                                            k->hash_hex,
                                            channels,
                                            k->scopes,
                                            s->agent_id,
                                            s->expires_us ? k->expires : NULL};
    memcpy(k->params, p, sizeof p);
    return 0;
}

void keyspec_wipe(struct keyspec_new *k)
{
    OPENSSL_cleanse(k->key, sizeof k->key);
}

static const char *cell(const PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

/* "a,b" -> ["a","b"]; NULL -> null. */
static json_t *names_json(const char *list)
{
    if (!list)
        return json_null();
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

static json_t *or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *keyspec_row_json(const PGresult *res, int i)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o}", "id", PQgetvalue(res, i, 0),
                     "name", PQgetvalue(res, i, 1), "scopes", names_json(cell(res, i, 3)),
                     "channels", names_json(cell(res, i, 2)), "agent_id", or_null(cell(res, i, 4)),
                     "created_at", PQgetvalue(res, i, 5), "expires_at", or_null(cell(res, i, 6)),
                     "revoked_at", or_null(cell(res, i, 7)));
}

void keyspec_row_grant(const PGresult *res, int i, struct access_grant *g)
{
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", PQgetvalue(res, i, 0));
    g->channels = access_channels_mask(cell(res, i, 2), NULL);
    scope_parse(PQgetvalue(res, i, 3), &g->scopes, NULL, 0);
    const char *agent = cell(res, i, 4);
    snprintf(g->agent_id, sizeof g->agent_id, "%s", agent ? agent : "");
    g->expires_us = cell(res, i, 8) ? strtoll(PQgetvalue(res, i, 8), NULL, 10) : 0;
}

const char *keyspec_row_channels(const PGresult *res, int i)
{
    return PQgetisnull(res, i, 2) ? "all" : PQgetvalue(res, i, 2);
}
