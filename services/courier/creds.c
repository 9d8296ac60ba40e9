/* creds.c — the adapters' settings, and the rotating credentials of those
 * that have them (Zalo's OA access and refresh tokens).
 *
 * Credentials live in courier.credentials (channel = the adapter's name):
 * seeded once from the environment (the adapter's credentials_seed), set
 * by `carebusctl channels set`, rotated here. A refresh starts before the
 * access token expires (CREDS_MARGIN_S) and when the provider refuses it
 * (REAUTH); deliveries wait meanwhile (CREDS_WAIT). The answer's tokens are
 * committed, both in one transaction, BEFORE the new access token is used:
 * a provider whose refresh tokens are single-use (Zalo) has already
 * forgotten the old one, so a crash may lose at most a rotation that was
 * never used, and a restart reads what was committed. A write that fails
 * is retried (creds_tick) and nothing is sent on the channel until it
 * succeeds. Changes made by carebusctl are picked up within
 * CREDS_RELOAD_MS. Nothing here logs a credential.
 *
 * The other rows are settings (`carebusctl channels set twilio
 * TWILIO_AUTH_TOKEN=...`, outbound.h): read in place of the environment's,
 * they configure the adapter anew when they change (within
 * CREDS_RELOAD_MS, no restart). Attempts in flight keep the configuration
 * they were built with: a replaced one is freed once nothing is in flight.
 * Stored settings an adapter refuses are logged and the previous
 * configuration kept.
 *
 * A refusal is final (creds_refused) only when the credentials refused
 * came from a refresh and were never accepted since, or when the provider
 * refused the refresh itself: a refusal while a refresh could not run
 * (too soon after the last one, or courier restarted in the middle) leads
 * to another refresh, never to a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define CREDS_MAX 16
#define CREDS_MARGIN_S 600
#define CREDS_MIN_INTERVAL_MS 5000
#define CREDS_RELOAD_MS 5000
#define CREDS_RETIRED_MAX 32
#define CREDS_SETTINGS_MAX 32

struct creds_entry {
    creds *cs;
    const struct outbound_adapter *a;
    void *cfg;           /* NULL: not configured */
    size_t settings_n;   /* the stored settings it was configured with */
    int64_t settings_us; /* their newest updated_at */
    bool loaded;
    int64_t updated_us; /* the newest row's updated_at when loaded */
    struct outbound_credentials cur;
    struct outbound_credentials next; /* refreshed, not yet committed */
    bool uncommitted;
    bool refreshing;
    bool unproven; /* cur comes from a refresh here, not yet accepted by the provider */
    bool refused;  /* the provider refused the last refresh */
    int64_t last_refresh_ms;
    struct outbound_request req;
};

struct creds {
    courier *c;
    struct creds_entry v[CREDS_MAX];
    size_t n;
    int64_t next_reload_ms;
    bool settings_loaded;
    int64_t next_settings_ms;
    /* Configurations replaced while attempts were in flight. */
    struct {
        const struct outbound_adapter *a;
        void *cfg;
    } retired[CREDS_RETIRED_MAX];
    size_t nretired;
};

/* One row of courier.credentials. */
struct cred_row {
    const char *channel;
    const char *name;
    const char *value;
    int64_t expires_us;
    int64_t updated_us;
};

#define R(f) ROWSET_AT(struct cred_row, f)
static const struct rowset_col cred_cols[] = {
    {"channel", "text", ROWSET_STR, R(channel)},
    {"name", "text", ROWSET_STR, R(name)},
    {"value", "text", ROWSET_STR, R(value)},
    {"expires_at", "timestamptz", ROWSET_TIME, R(expires_us), .none = 0},
    {"updated_at", "timestamptz", ROWSET_TIME, R(updated_us), .none = 0},
};
#undef R

static char *cred_strdup(void *ctx, const char *s)
{
    (void)ctx;
    return strdup(s);
}

static const rowset_table cred_table = {"courier.credentials", cred_cols, ROWSET_COUNT(cred_cols),
                                        cred_strdup};

static rowset_stmt settings_sql =
    ROWSET_STMT(cred_table, "SELECT {@select c channel,name,value,expires_at,updated_at}"
                            " FROM courier.credentials c");

static rowset_stmt load_sql = ROWSET_STMT(
    cred_table, "SELECT {@select c name,value,expires_at,updated_at} FROM courier.credentials c"
                " WHERE c.channel = $1 AND c.name IN ('access_token', 'refresh_token')");

/* $1: the rows; $2: keep (a seed never overwrites what is there). */
static rowset_stmt save_sql = ROWSET_STMT(
    cred_table, "INSERT INTO courier.credentials ({@cols channel,name,value,expires_at})"
                " SELECT {@values x channel,name,value,expires_at}"
                " FROM {@rows $1 x channel,name,value,expires_at}"
                " ON CONFLICT (channel, name) DO UPDATE SET value = EXCLUDED.value,"
                " expires_at = EXCLUDED.expires_at, updated_at = now()"
                " WHERE NOT $2::boolean");

static struct creds_entry *entry_of(creds *cs, const struct outbound_adapter *a)
{
    for (size_t i = 0; i < cs->n; i++)
        if (cs->v[i].a == a)
            return &cs->v[i];
    return NULL;
}

creds *creds_new(courier *c)
{
    creds *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->c = c;
    /* Every adapter is configured once, at start: a setting that is set but
     * wrong stops the service (config.h's rule). */
    for (size_t i = 0; i < vocab_count(&carebus__v1__channel__descriptor); i++) {
        int ch = vocab_value(&carebus__v1__channel__descriptor, i);
        const struct outbound_adapter *a = outbound_adapter_for((Carebus__V1__Channel)ch);
        if (!a || entry_of(cs, a))
            continue;
        if (cs->n == CREDS_MAX) {
            log_error("more channel adapters than %d", CREDS_MAX);
            creds_destroy(&cs);
            return NULL;
        }
        struct creds_entry *e = &cs->v[cs->n++];
        e->cs = cs;
        e->a = a;
        char err[256] = "";
        e->cfg = a->configure(err, sizeof err);
        if (!e->cfg && err[0]) {
            log_error("%s: %s", a->name, err);
            creds_destroy(&cs);
            return NULL;
        }
        log_info("%s sender %s", a->name, e->cfg ? "configured" : "not configured");
    }
    metrics_describe("carebus_courier_credential_refreshes_total", "counter",
                     "rotating credentials refreshed, by channel and result");
    return cs;
}

/* Frees the replaced configurations (when nothing may use them). */
static void creds_free_retired(creds *cs)
{
    for (size_t i = 0; i < cs->nretired; i++)
        cs->retired[i].a->destroy(cs->retired[i].cfg);
    cs->nretired = 0;
}

/* One adapter configured anew from the environment and rows (its stored
 * settings, n of them, the newest updated at newest_us). */
static void creds_reconfigure(creds *cs, struct creds_entry *e, struct cred_row *rows, size_t n,
                              int64_t newest_us)
{
    if (cs->nretired == CREDS_RETIRED_MAX)
        return; /* XXX: waits for a moment with nothing in flight; settings rarely change */
    struct config_setting v[CREDS_SETTINGS_MAX];
    for (size_t i = 0; i < n; i++)
        v[i] = (struct config_setting){rows[i].name, rows[i].value, false};
    char err[256] = "";
    void *cfg = outbound_configure_with(e->a, v, n, err, sizeof err);
    e->settings_n = n;
    e->settings_us = newest_us;
    if (!cfg && err[0]) {
        log_error("%s: the stored settings are refused, the previous ones kept: %s", e->a->name,
                  err);
        return;
    }
    if (e->cfg) {
        cs->retired[cs->nretired].a = e->a;
        cs->retired[cs->nretired++].cfg = e->cfg;
    }
    e->cfg = cfg;
    log_info("%s sender %s with %zu stored setting%s", e->a->name,
             cfg ? "configured" : "not configured", n, n == 1 ? "" : "s");
    pump_kick(cs->c->pump);
}

/* Reads the stored settings of every adapter; configures anew those whose
 * settings changed. 0 or -1 (not read: the next reload tries again). */
static int creds_settings_load(creds *cs)
{
    db *d = cs->c->svc->db;
    const char *sql = rowset_stmt_sql(&settings_sql);
    PGresult *r = sql && db_up(d) ? db_exec(d, sql, 0, NULL) : NULL;
    rowset_reader rd;
    if (!r || rowset_reader_init(&rd, &cred_table, r) != 0) {
        PQclear(r);
        return -1;
    }
    int nt = PQntuples(r);
    struct cred_row *rows = calloc((size_t)nt + 1, sizeof *rows);
    int rc = rows ? 0 : -1;
    int nread = 0;
    for (; rc == 0 && nread < nt; nread++)
        rc = rowset_read(&rd, nread, &rows[nread], NULL);
    PQclear(r);
    for (size_t i = 0; rc == 0 && i < cs->n; i++) {
        struct creds_entry *e = &cs->v[i];
        struct cred_row mine[CREDS_SETTINGS_MAX];
        size_t n = 0;
        int64_t newest = 0;
        for (int k = 0; k < nt && n < CREDS_SETTINGS_MAX; k++) {
            if (strcmp(rows[k].channel, e->a->name) != 0 ||
                !outbound_setting_is_setting(rows[k].name))
                continue;
            mine[n++] = rows[k];
            if (rows[k].updated_us > newest)
                newest = rows[k].updated_us;
        }
        if (n != e->settings_n || newest != e->settings_us)
            creds_reconfigure(cs, e, mine, n, newest);
    }
    for (int k = 0; rows && k < nread; k++) {
        free((char *)rows[k].channel);
        free((char *)rows[k].name);
        free((char *)rows[k].value);
    }
    free(rows);
    if (rc == 0)
        cs->settings_loaded = true;
    return rc;
}

void creds_destroy(creds **pc)
{
    creds *cs = *pc;
    if (!cs)
        return;
    creds_free_retired(cs);
    for (size_t i = 0; i < cs->n; i++) {
        if (cs->v[i].cfg)
            cs->v[i].a->destroy(cs->v[i].cfg);
        outbound_request_release(&cs->v[i].req);
    }
    free(cs);
    *pc = NULL;
}

const void *creds_adapter_config(creds *cs, const struct outbound_adapter *a)
{
    /* Before the first message: the stored settings, not only the
     * environment's (then again every CREDS_RELOAD_MS, creds_tick). */
    if (!cs->settings_loaded && time_mono_ms() >= cs->next_settings_ms &&
        creds_settings_load(cs) != 0)
        cs->next_settings_ms = time_mono_ms() + CREDS_RELOAD_MS;
    struct creds_entry *e = entry_of(cs, a);
    return e ? e->cfg : NULL;
}

/* Writes both tokens in one statement (seed: only where none is). 0 or -1. */
static int creds_save(creds *cs, struct creds_entry *e, const struct outbound_credentials *t,
                      bool seed)
{
    struct cred_row rows[2] = {
        {e->a->name, "access_token", t->access_token, t->expires_us, 0},
        {e->a->name, "refresh_token", t->refresh_token, 0, 0},
    };
    rowset w;
    rowset_init(&w, &cred_table, NULL);
    rowset_only(&w, "channel,name,value,expires_at");
    for (size_t i = 0; i < 2; i++)
        if (rows[i].value[0])
            rowset_add(&w, &rows[i]);
    int rc = 0;
    if (rowset_count(&w)) {
        const char *sql = rowset_stmt_sql(&save_sql);
        const char *p[] = {rowset_json(&w), seed ? "true" : "false"};
        rc = sql && p[0] && db_write(cs->c->svc->db, sql, 2, p, NULL) == 0 ? 0 : -1;
    }
    rowset_release(&w);
    return rc;
}

static int creds_load(creds *cs, struct creds_entry *e)
{
    db *d = cs->c->svc->db;
    const char *sql = rowset_stmt_sql(&load_sql);
    const char *p[] = {e->a->name};
    PGresult *r = sql ? db_exec(d, sql, 1, p) : NULL;
    rowset_reader rd;
    if (!r || rowset_reader_init(&rd, &cred_table, r) != 0) {
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0 && !e->loaded) {
        PQclear(r);
        struct outbound_credentials seed = {0};
        if (!e->a->credentials_seed || e->a->credentials_seed(e->cfg, &seed) != 0) {
            e->loaded = true; /* none: carebusctl channels set gives them */
            return 0;
        }
        if (creds_save(cs, e, &seed, true) != 0)
            return -1;
        return creds_load(cs, e);
    }
    struct outbound_credentials t = {0};
    int64_t newest = 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct cred_row row = {0};
        rc = rowset_read(&rd, i, &row, NULL);
        if (rc == 0 && strcmp(row.name, "access_token") == 0) {
            snprintf(t.access_token, sizeof t.access_token, "%s", row.value);
            t.expires_us = row.expires_us;
        } else if (rc == 0 && strcmp(row.name, "refresh_token") == 0) {
            snprintf(t.refresh_token, sizeof t.refresh_token, "%s", row.value);
        }
        if (row.updated_us > newest)
            newest = row.updated_us;
        free((char *)row.name);
        free((char *)row.value);
    }
    PQclear(r);
    if (rc != 0)
        return -1;
    if (strcmp(t.access_token, e->cur.access_token) != 0 ||
        strcmp(t.refresh_token, e->cur.refresh_token) != 0)
        e->unproven = e->refused = false; /* someone else's: a fresh start */
    e->cur = t;
    e->updated_us = newest;
    e->loaded = true;
    return 0;
}

static void creds_commit(creds *cs, struct creds_entry *e);

/* The refresh's answer: the new tokens, committed before they are used. */
static void on_refreshed(void *ctx, const struct outbound_response *resp, int64_t started_us,
                         int64_t finished_us)
{
    (void)started_us;
    struct creds_entry *e = ctx;
    e->refreshing = false;
    outbound_request_release(&e->req);
    struct outbound_credentials t = e->cur;
    char err[256] = "";
    char series[128];
    if (e->a->refresh_parse(resp, finished_us, &t, err, sizeof err) != 0) {
        /* An answer (not a transport error or a 5xx) is the provider's
         * refusal: asking again would not change it. */
        e->refused = !resp->transport_error && resp->status > 0 && resp->status < 500;
        log_error("%s: could not refresh the credentials: %s", e->a->name,
                  err[0] ? err : "the provider refused");
        snprintf(series, sizeof series,
                 "carebus_courier_credential_refreshes_total{channel=\"%s\",result=\"failed\"}",
                 e->a->name);
        metrics_add(series, 1);
        return;
    }
    snprintf(series, sizeof series,
             "carebus_courier_credential_refreshes_total{channel=\"%s\",result=\"ok\"}",
             e->a->name);
    metrics_add(series, 1);
    e->next = t;
    e->uncommitted = true;
    creds_commit(e->cs, e);
}

/* Commits a rotation; once committed it is the one in use. */
static void creds_commit(creds *cs, struct creds_entry *e)
{
    if (!e->uncommitted || creds_save(cs, e, &e->next, false) != 0)
        return;
    e->cur = e->next;
    e->uncommitted = false;
    e->unproven = true;
    e->refused = false;
    e->updated_us = time_now_us();
    log_info("%s: credentials refreshed and stored", e->a->name);
    pump_kick(cs->c->pump);
}

static void creds_start_refresh(creds *cs, struct creds_entry *e)
{
    int64_t now = time_mono_ms();
    if (e->refreshing || e->uncommitted || !e->cfg || !e->a->refresh_build ||
        now - e->last_refresh_ms < CREDS_MIN_INTERVAL_MS)
        return;
    e->last_refresh_ms = now;
    outbound_request_release(&e->req);
    if (e->a->refresh_build(e->cfg, &e->cur, &e->req) != 0 ||
        engine_start(cs->c->engine, &e->req, on_refreshed, e) != 0) {
        log_error("%s: could not start a credentials refresh", e->a->name);
        outbound_request_release(&e->req);
        return;
    }
    e->refreshing = true;
}

creds_state creds_get(creds *cs, const struct outbound_adapter *a,
                      const struct outbound_credentials **out)
{
    *out = NULL;
    struct creds_entry *e = entry_of(cs, a);
    if (!e || !a->refresh_build)
        return CREDS_NONE;
    if (!e->loaded && creds_load(cs, e) != 0)
        return CREDS_WAIT;
    creds_commit(cs, e);
    if (e->refreshing || e->uncommitted)
        return CREDS_WAIT;
    if (e->cur.expires_us &&
        e->cur.expires_us - time_now_us() < (int64_t)CREDS_MARGIN_S * 1000000) {
        creds_start_refresh(cs, e);
        if (e->refreshing)
            return CREDS_WAIT;
    }
    *out = &e->cur;
    return CREDS_READY;
}

void creds_refresh(creds *cs, const struct outbound_adapter *a)
{
    struct creds_entry *e = entry_of(cs, a);
    if (!e || !a->refresh_build)
        return;
    /* Someone (carebusctl) may have stored newer ones meanwhile. */
    int64_t before = e->updated_us;
    if (creds_load(cs, e) == 0 && e->updated_us > before)
        return;
    creds_start_refresh(cs, e);
}

bool creds_refused(creds *cs, const struct outbound_adapter *a, int64_t started_us)
{
    struct creds_entry *e = entry_of(cs, a);
    if (!e || !a->refresh_build)
        return true; /* nothing to refresh with */
    if (started_us < e->updated_us)
        return false; /* sent with credentials replaced since: the new ones may do */
    if (e->unproven || e->refused)
        return true;
    creds_refresh(cs, a);
    return false;
}

void creds_accepted(creds *cs, const struct outbound_adapter *a, int64_t started_us)
{
    struct creds_entry *e = entry_of(cs, a);
    if (e && started_us >= e->updated_us)
        e->unproven = false;
}

void creds_tick(creds *cs)
{
    int64_t now = time_mono_ms();
    bool reload = now >= cs->next_reload_ms;
    if (reload) {
        cs->next_reload_ms = now + CREDS_RELOAD_MS;
        creds_settings_load(cs);
    }
    if (cs->nretired && pump_inflight(cs->c->pump) == 0)
        creds_free_retired(cs);
    for (size_t i = 0; i < cs->n; i++) {
        struct creds_entry *e = &cs->v[i];
        if (!e->a->refresh_build || !e->cfg)
            continue;
        creds_commit(cs, e);
        if (reload && e->loaded && !e->refreshing && !e->uncommitted && db_up(cs->c->svc->db))
            creds_load(cs, e);
    }
}
