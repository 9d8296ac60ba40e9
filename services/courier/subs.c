/* subs.c — the subscriptions table in memory, and its rows in PostgreSQL.
 *
 * A subscription.saved names the fields it changes (update_mask; empty:
 * all), so it is merged here with what the table holds, and the whole row
 * is written back: the row is always the log's subscription as of the last
 * applied event. Which subscriptions an event type goes to is an index per
 * body case, rebuilt on the first use after a change (changes are rare,
 * events are not).
 */
#include "subs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_match.h"
#include "hmap.h"
#include "log.h"
#include "rowset.h"

struct subs {
    struct sub **v;
    size_t n, cap;
    hmap by_id;
    bool loaded;
    /* match[c]: indexes into v of the subscriptions whose patterns match
     * body case c's type; built when stale. */
    int **match;
    size_t *nmatch;
    size_t ncases;
    bool stale;
    char *const *static_urls;
    size_t nstatic;
    const char *static_secret;
};

/* --- the row ------------------------------------------------------------------ */

static char *subs_strdup(void *ctx, const char *s)
{
    (void)ctx;
    return strdup(s);
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A JSON array of strings (a text[] as rowset reads it) into a vector. */
static int strv_parse(const char *text, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!text)
        return 0;
    json_t *a = json_loads(text, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return -1;
    }
    size_t k = json_array_size(a);
    char **v = calloc(k ? k : 1, sizeof *v);
    int rc = v ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !(v[i] = strdup(s)))
            rc = -1;
    }
    json_decref(a);
    if (rc != 0) {
        strv_free(v, k);
        return -1;
    }
    *out = v;
    *n = k;
    return 0;
}

static void put_types(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct sub *s = row;
    rowset_put_strv(p, (const char *const *)s->types, s->ntypes);
}

static int set_types(void *row, const char *text, void *ctx)
{
    (void)ctx;
    struct sub *s = row;
    return strv_parse(text, &s->types, &s->ntypes);
}

static void put_channels(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct sub *s = row;
    rowset_put_strv(p, (const char *const *)s->channels, s->nchannels);
}

static int set_channels(void *row, const char *text, void *ctx)
{
    (void)ctx;
    struct sub *s = row;
    return strv_parse(text, &s->channels, &s->nchannels);
}

static int set_paused(void *row, const char *text, void *ctx)
{
    (void)ctx;
    ((struct sub *)row)->paused = text != NULL;
    return 0;
}

/* courier.subscriptions as courier reads and writes it (the counters and
 * the pause's details are record.c's). */
#define S(f) ROWSET_AT(struct sub, f)
static const struct rowset_col subs_cols[] = {
    {"id", "uuid", ROWSET_ID, S(id)},
    {"url", "text", ROWSET_STR, S(url)},
    {"event_types", "text[]", ROWSET_FN, .get = put_types, .set = set_types},
    {"channels", "text[]", ROWSET_FN, .get = put_channels, .set = set_channels},
    {"secret", "text", ROWSET_STR, S(secret)},
    {"active", "boolean", ROWSET_BOOL, S(active)},
    {"description", "text", ROWSET_STR, S(description)},
    {"created_at", "timestamptz", ROWSET_TIME, S(created_us), .none = 0},
    {"updated_at", "timestamptz", ROWSET_TIME, S(updated_us), .none = 0},
    {"paused_at", "timestamptz", ROWSET_FN, .set = set_paused},
};
#undef S
static const rowset_table subs_table = {"courier.subscriptions", subs_cols, ROWSET_COUNT(subs_cols),
                                        subs_strdup};

#define SUBS_WRITTEN "id,url,event_types,channels,secret,active,description,created_at,updated_at"

static rowset_stmt subs_load_sql = ROWSET_STMT(
    subs_table, "SELECT {@select s} FROM courier.subscriptions s ORDER BY s.created_at, s.id");

/* $1: the row; $2: resume (a paused subscription saved active). */
/* clang-format off */
static rowset_stmt subs_upsert_sql = ROWSET_STMT(
    subs_table,
    "INSERT INTO courier.subscriptions ({@cols " SUBS_WRITTEN "})"
    " SELECT {@values x " SUBS_WRITTEN "} FROM {@rows $1 x " SUBS_WRITTEN "}"
    " ON CONFLICT (id) DO UPDATE SET"
    " {@set EXCLUDED url,event_types,channels,secret,active,description,updated_at},"
    " paused_at = CASE WHEN $2::boolean THEN NULL ELSE courier.subscriptions.paused_at END,"
    " paused_reason = CASE WHEN $2::boolean THEN NULL ELSE courier.subscriptions.paused_reason END,"
    " failing_since = CASE WHEN $2::boolean THEN NULL ELSE courier.subscriptions.failing_since END,"
    " consecutive_failures = CASE WHEN $2::boolean THEN 0"
    "                        ELSE courier.subscriptions.consecutive_failures END");
/* clang-format on */

static void sub_destroy(struct sub *s)
{
    if (!s)
        return;
    free(s->url);
    free(s->secret);
    free(s->description);
    strv_free(s->types, s->ntypes);
    strv_free(s->channels, s->nchannels);
    free(s);
}

static void sub_key(struct sub *s)
{
    if (!s->secret || webhook_key(s->secret, s->key, &s->keylen) != 0) {
        s->keylen = 0;
        if (!s->is_static || s->secret)
            log_warn("webhook subscription %s has no usable secret: its deliveries go unsigned",
                     s->id);
    }
}

/* --- the table ---------------------------------------------------------------- */

subs *subs_new(char *const *static_urls, size_t nstatic, const char *static_secret)
{
    subs *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->static_urls = static_urls;
    s->nstatic = nstatic;
    s->static_secret = static_secret;
    return s;
}

static void subs_clear(subs *s)
{
    for (size_t i = 0; i < s->n; i++)
        sub_destroy(s->v[i]);
    s->n = 0;
    hmap_release(&s->by_id);
    s->loaded = false;
    s->stale = true;
}

static void subs_free_index(subs *s)
{
    for (size_t c = 0; c < s->ncases; c++)
        free(s->match[c]);
    free(s->match);
    free(s->nmatch);
    s->match = NULL;
    s->nmatch = NULL;
    s->ncases = 0;
}

void subs_destroy(subs **ps)
{
    subs *s = *ps;
    if (!s)
        return;
    subs_clear(s);
    subs_free_index(s);
    free(s->v);
    free(s);
    *ps = NULL;
}

void subs_invalidate(subs *s)
{
    subs_clear(s);
}

static int subs_reindex_ids(subs *s)
{
    hmap_release(&s->by_id);
    if (hmap_reserve(&s->by_id, s->n) != 0)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        hmap_puts(&s->by_id, s->v[i]->id, (int)i);
    s->stale = true;
    return 0;
}

/* Appends (takes x) or replaces the subscription of x's id. */
static int subs_put(subs *s, struct sub *x)
{
    int i = hmap_gets(&s->by_id, x->id);
    if (i != HMAP_ABSENT) {
        sub_destroy(s->v[i]);
        s->v[i] = x;
        return subs_reindex_ids(s); /* the key pointed into the old one */
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct sub **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n] = x;
    if (hmap_puts(&s->by_id, x->id, (int)s->n) != 0)
        return -1;
    s->n++;
    s->stale = true;
    return 0;
}

static int subs_load_static(subs *s, db *d)
{
    if (!s->nstatic)
        return 0;
    buf urls = BUF_INIT;
    rowset_keys(&urls, (const char *const *)s->static_urls, s->nstatic);
    const char *p[] = {buf_str(&urls)};
    PGresult *r = urls.failed ? NULL
                              : db_exec(d,
                                        "SELECT u AS url, courier.static_subscription_id(u)::text"
                                        " AS id FROM unnest($1::text[]) u",
                                        1, p);
    buf_release(&urls);
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct sub *x = calloc(1, sizeof *x);
        char **types = calloc(1, sizeof *types);
        if (!x || !types) {
            free(x);
            free(types);
            rc = -1;
            break;
        }
        snprintf(x->id, sizeof x->id, "%s", db_value(r, i, "id"));
        x->url = strdup(db_value(r, i, "url"));
        x->secret = s->static_secret ? strdup(s->static_secret) : NULL;
        x->types = types;
        x->ntypes = 1;
        types[0] = strdup("survey.requested");
        x->active = true;
        x->is_static = true;
        if (!x->url || !types[0] || (s->static_secret && !x->secret)) {
            sub_destroy(x);
            rc = -1;
            break;
        }
        sub_key(x);
        rc = subs_put(s, x);
        if (rc != 0)
            sub_destroy(x);
    }
    PQclear(r);
    return rc;
}

int subs_ensure(subs *s, db *d)
{
    if (s->loaded)
        return 0;
    subs_clear(s);
    const char *sql = rowset_stmt_sql(&subs_load_sql);
    PGresult *r = sql ? db_exec(d, sql, 0, NULL) : NULL;
    rowset_reader rd;
    if (!r || rowset_reader_init(&rd, &subs_table, r) != 0) {
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct sub *x = calloc(1, sizeof *x);
        if (!x || rowset_read(&rd, i, x, NULL) != 0) {
            sub_destroy(x);
            rc = -1;
            break;
        }
        sub_key(x);
        if ((rc = subs_put(s, x)) != 0)
            sub_destroy(x);
    }
    PQclear(r);
    if (rc == 0)
        rc = subs_load_static(s, d);
    if (rc != 0) {
        subs_clear(s);
        return -1;
    }
    s->loaded = true;
    return 0;
}

const struct sub *subs_find(const subs *s, const char *id)
{
    int i = hmap_gets(&s->by_id, id);
    return i == HMAP_ABSENT ? NULL : s->v[i];
}

/* --- changes ------------------------------------------------------------------ */

static bool mask_has(const Carebus__V1__SubscriptionSaved *m, const char *field)
{
    if (m->n_update_mask == 0)
        return true;
    for (size_t i = 0; i < m->n_update_mask; i++)
        if (strcmp(m->update_mask[i], field) == 0)
            return true;
    return false;
}

static int strv_copy(char *const *from, size_t n, char ***out, size_t *nout)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = strdup(from[i]))) {
            strv_free(v, n);
            return -1;
        }
    *out = v;
    *nout = n;
    return 0;
}

static char *str_or(const char *a, const char *b)
{
    const char *s = a ? a : b ? b : "";
    return strdup(s);
}

int subs_save(subs *s, db *d, const Carebus__V1__SubscriptionSaved *m, int64_t recorded_us)
{
    if (subs_ensure(s, d) != 0)
        return -1;
    const struct sub *old = subs_find(s, m->subscription_id);
    if (old && old->is_static) {
        log_warn("subscription.saved for %s: that id is a static subscription's; ignored",
                 m->subscription_id);
        return 1;
    }
    struct sub *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    snprintf(x->id, sizeof x->id, "%s", m->subscription_id);
    int rc = 0;
    x->url = str_or(mask_has(m, "url") ? m->url : NULL, old ? old->url : NULL);
    x->secret = str_or(mask_has(m, "secret") ? m->secret : NULL, old ? old->secret : NULL);
    x->description =
        str_or(mask_has(m, "description") ? m->description : NULL, old ? old->description : NULL);
    if (mask_has(m, "event_types"))
        rc |= strv_copy(m->event_types, m->n_event_types, &x->types, &x->ntypes);
    else
        rc |= strv_copy(old ? old->types : NULL, old ? old->ntypes : 0, &x->types, &x->ntypes);
    if (mask_has(m, "channels"))
        rc |= strv_copy(m->channels, m->n_channels, &x->channels, &x->nchannels);
    else
        rc |= strv_copy(old ? old->channels : NULL, old ? old->nchannels : 0, &x->channels,
                        &x->nchannels);
    x->active = mask_has(m, "active") ? m->active : old ? old->active : false;
    bool resume = mask_has(m, "active") && m->active;
    bool was_paused = old && old->paused;
    x->paused = was_paused && !resume;
    x->created_us = old ? old->created_us : recorded_us;
    x->updated_us = recorded_us;
    if (rc != 0 || !x->url || !x->secret || !x->description) {
        sub_destroy(x);
        return -1;
    }
    if (!x->url[0] || x->ntypes == 0) {
        log_warn("subscription %s has no URL or no event type: not saved", x->id);
        sub_destroy(x);
        return 1;
    }
    sub_key(x);

    rowset w;
    rowset_init(&w, &subs_table, NULL);
    rowset_only(&w, SUBS_WRITTEN);
    rowset_add(&w, x);
    const char *sql = rowset_stmt_sql(&subs_upsert_sql);
    const char *p[] = {rowset_json(&w), resume ? "true" : "false"};
    rc = sql && p[0] ? db_command(d, sql, 2, p) : -1;
    rowset_release(&w);
    if (rc != 0 || subs_put(s, x) != 0) {
        sub_destroy(x);
        subs_invalidate(s);
        return -1;
    }
    /* old is gone now (replaced by x). */
    if (resume && was_paused)
        log_info("webhook subscription %s resumed", x->id);
    return 0;
}

int subs_delete(subs *s, db *d, const char *id)
{
    if (subs_ensure(s, d) != 0)
        return -1;
    const char *p[] = {id};
    if (db_command(d, "DELETE FROM courier.subscriptions WHERE id = $1", 1, p) != 0)
        return -1;
    int i = hmap_gets(&s->by_id, id);
    if (i == HMAP_ABSENT || s->v[i]->is_static)
        return 0;
    sub_destroy(s->v[i]);
    memmove(&s->v[i], &s->v[i + 1], (s->n - (size_t)i - 1) * sizeof s->v[0]);
    s->n--;
    if (subs_reindex_ids(s) != 0) {
        subs_invalidate(s);
        return -1;
    }
    return 0;
}

void subs_set_paused(subs *s, const char *id)
{
    int i = hmap_gets(&s->by_id, id);
    if (i != HMAP_ABSENT)
        s->v[i]->paused = true;
}

/* --- matching ----------------------------------------------------------------- */

static bool sub_matches_type(const struct sub *x, const char *type)
{
    return event_match_any((const char *const *)x->types, x->ntypes, type);
}

static int subs_build_index(subs *s)
{
    subs_free_index(s);
    size_t ncases = 0;
    for (size_t i = 0; i < vocab_event_type_count(); i++)
        if ((size_t)vocab_event_type_at(i) + 1 > ncases)
            ncases = (size_t)vocab_event_type_at(i) + 1;
    s->match = calloc(ncases, sizeof *s->match);
    s->nmatch = calloc(ncases, sizeof *s->nmatch);
    if (!s->match || !s->nmatch) {
        free(s->match);
        free(s->nmatch);
        s->match = NULL;
        s->nmatch = NULL;
        return -1;
    }
    s->ncases = ncases;
    for (size_t i = 0; i < vocab_event_type_count(); i++) {
        int c = vocab_event_type_at(i);
        const char *type = vocab_event_type(c);
        for (size_t k = 0; k < s->n; k++) {
            if (!sub_matches_type(s->v[k], type))
                continue;
            if (!s->match[c] && !(s->match[c] = calloc(s->n, sizeof *s->match[c]))) {
                subs_free_index(s);
                return -1;
            }
            s->match[c][s->nmatch[c]++] = (int)k;
        }
    }
    s->stale = false;
    return 0;
}

static bool sub_has_channel(const struct sub *x, const char *channel)
{
    if (x->nchannels == 0)
        return true;
    for (size_t i = 0; i < x->nchannels; i++)
        if (strcmp(x->channels[i], channel) == 0)
            return true;
    return false;
}

int subs_for_event(subs *s, const event *ev, const struct sub **out, size_t max, size_t *count)
{
    *count = 0;
    if (s->stale && subs_build_index(s) != 0)
        return -1;
    size_t c = (size_t)ev->body_case;
    if (c >= s->ncases || !s->nmatch[c])
        return 0;
    const char *channel = NULL;
    if (ev->body_case == CAREBUS__V1__ENVELOPE__BODY_MESSAGE_OUTBOUND)
        channel = event_channel_name(ev->message_outbound->channel);
    size_t n = 0;
    for (size_t i = 0; i < s->nmatch[c] && n < max; i++) {
        const struct sub *x = s->v[s->match[c][i]];
        if (!x->active || x->paused || (channel && !sub_has_channel(x, channel)))
            continue;
        out[n++] = x;
    }
    *count = n;
    return 0;
}
