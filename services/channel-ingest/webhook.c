/* webhook.c — the channels' webhooks: settings, authentication, the group
 * commit of a request's events, and the answers (see webhook.h).
 *
 * Counting: pending starts at 1, the submitting loop's own reference, so
 * that a callback run synchronously inside group_commit_submit (the write
 * queue failing at once) can never bring it to zero and answer while the
 * loop still submits; the loop drops its reference last. After a failed
 * submission nothing more is submitted: the answer will be 503 anyway.
 */
#include "webhook.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "channels/inbound.h"
#include "config.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

struct webhook_req {
    http_req *r;
    const struct inbound_adapter *a;
    struct inbound_batch b;
    struct eventlog_entry *entries; /* b.n contacts, then b.nstatus statuses */
    size_t pending;                 /* submitted, not yet called back (+1 while submitting) */
    size_t duplicates;              /* of contacts */
    size_t status_duplicates;
    bool failed;
};

static void webhook_count(const char *family, const char *channel, const char *result, double v)
{
    char name[160];
    if (v <= 0)
        return;
    snprintf(name, sizeof name, "%s{channel=\"%s\",result=\"%s\"}", family, channel, result);
    metrics_add(name, v);
}

/* --- refusals -------------------------------------------------------------- */

static http_status webhook_not_configured(http_req *r, const char *name)
{
    ingest_reject(r, 404, "webhook_not_configured", "not_found", NULL,
                  "the %s webhook is not configured", name);
    return HTTP_DONE;
}

static http_status webhook_bad_signature(http_req *r, const char *name, const char *why)
{
    ingest_reject(r, 401, "invalid_signature", "invalid_signature", NULL, "%s webhook: %s", name,
                  why);
    return HTTP_DONE;
}

static void webhook_unavailable(http_req *r)
{
    metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
    ingest_reply_unavailable(r);
}

static http_status webhook_refused(http_req *r, const char *name, const struct inbound_error *err)
{
    if (err->status == 401)
        return webhook_bad_signature(r, name, err->message);
    if (err->status == 503) {
        log_error("%s webhook: %s", name, err->message);
        webhook_unavailable(r);
        return HTTP_DONE;
    }
    const char *code = err->code ? err->code : "invalid_json";
    ingest_reject(r, 400, code, code, NULL, "%s webhook: %s", name, err->message);
    return HTTP_DONE;
}

/* --- the request ------------------------------------------------------------ */

/* The adapter of the request's path; NULL after answering 404 (a route of
 * the table without an adapter: tests keep the two in step). */
static const struct inbound_adapter *webhook_adapter(http_req *r)
{
    const char *path = http_path(r);
    size_t pl = strlen(INBOUND_PATH_PREFIX);
    const struct inbound_adapter *a =
        strncmp(path, INBOUND_PATH_PREFIX, pl) == 0 ? inbound_adapter_find(path + pl) : NULL;
    if (!a)
        webhook_not_configured(r, path);
    return a;
}

/* CAREBUS_<name>, or NULL when unset or empty (the channel is then not
 * configured). */
static const char *webhook_setting(const char *name)
{
    const char *v = config_str(name, NULL);
    return v && *v ? v : NULL;
}

static const char *webhook_header(void *ctx, const char *name)
{
    return http_header(ctx, name);
}

static const char *webhook_query(void *ctx, const char *name)
{
    return http_query(ctx, name);
}

/* The public URL (config.h), the request's path and query: the URL a
 * provider signs (Twilio). */
static const char *webhook_url(http_req *r, char *out, size_t size)
{
    char base[1024];
    if (config_public_url(base, sizeof base) != 0)
        return NULL;
    const char *q = http_raw_query(r);
    int n = snprintf(out, size, "%s%s%s%s", base, http_path(r), *q ? "?" : "", q);
    return n > 0 && (size_t)n < size ? out : NULL;
}

static void webhook_req_destroy(void *p)
{
    struct webhook_req *w = p;
    for (size_t i = 0; w->entries && i < w->b.n + w->b.nstatus; i++)
        eventlog_entry_release(&w->entries[i]);
    free(w->entries);
    inbound_batch_release(&w->b);
    free(w);
}

static struct webhook_req *webhook_req_new(http_req *r, const struct inbound_adapter *a)
{
    struct webhook_req *w = calloc(1, sizeof *w);
    if (!w) {
        log_error("%s webhook: out of memory", a->name);
        webhook_unavailable(r);
        return NULL;
    }
    w->r = r;
    w->a = a;
    http_set_data(r, w, webhook_req_destroy);
    return w;
}

/* --- answers and the group commit -------------------------------------------- */

/* The default success answer: 200 {"events":[{"event_id","seq",
 * "duplicate"}...],"ignored":n}, contacts then statuses. */
static void webhook_reply_json(struct webhook_req *w)
{
    json_t *events = json_array();
    for (size_t i = 0; events && i < w->b.n + w->b.nstatus; i++) {
        const struct eventlog_entry *e = &w->entries[i];
        json_array_append_new(events, json_pack("{s:s, s:I, s:b}", "event_id", e->event_id, "seq",
                                                (json_int_t)e->seq, "duplicate", e->duplicate));
    }
    http_reply_json(w->r, 200,
                    json_pack("{s:o*, s:I}", "events", events, "ignored",
                              (json_int_t)(w->b.ignored + w->b.skipped)));
}

/* The last reference is gone: every submitted event is called back. */
static void webhook_finish(struct webhook_req *w)
{
    if (w->failed) {
        webhook_unavailable(w->r);
        return;
    }
    const char *name = w->a->name;
    static const char msgs[] = "carebus_ingest_webhook_messages_total";
    static const char sts[] = "carebus_ingest_webhook_statuses_total";
    webhook_count(msgs, name, "accepted", (double)(w->b.n - w->duplicates));
    webhook_count(msgs, name, "duplicate", (double)w->duplicates);
    webhook_count(msgs, name, "ignored", (double)w->b.ignored);
    webhook_count(msgs, name, "skipped", (double)w->b.skipped);
    webhook_count(sts, name, "accepted", (double)(w->b.nstatus - w->status_duplicates));
    webhook_count(sts, name, "duplicate", (double)w->status_duplicates);
    if (w->a->answer_body)
        http_reply(w->r, 200, w->a->answer_type, w->a->answer_body, strlen(w->a->answer_body));
    else
        webhook_reply_json(w);
}

static void webhook_release(struct webhook_req *w)
{
    if (--w->pending == 0)
        webhook_finish(w);
}

static void webhook_on_commit(struct eventlog_entry *e, int ok, void *arg)
{
    struct webhook_req *w = arg;
    if (ok != 0)
        w->failed = true;
    else if (e->duplicate && (size_t)(e - w->entries) < w->b.n)
        w->duplicates++;
    else if (e->duplicate)
        w->status_duplicates++;
    webhook_release(w);
}

/* The i-th event of the batch: contacts first, then statuses. */
static void webhook_entry(struct webhook_req *w, size_t i, struct eventlog_entry *e)
{
    if (i < w->b.n) {
        struct contact *m = w->b.msg[i];
        e->ev = &m->ev;
        e->idem_scope = m->idem_scope;
        e->idem_key = m->contact.external_id;
    } else {
        struct status *s = w->b.status[i - w->b.n];
        e->ev = &s->ev;
        e->idem_scope = s->idem_scope;
        e->idem_key = s->idem_key;
    }
}

/* Submits every event of w->b; answers at once when there is none (or the
 * database is down). */
static http_status webhook_submit(ingest *in, struct webhook_req *w)
{
    size_t n = w->b.n + w->b.nstatus;
    if (w->b.skipped)
        log_info("%s webhook: %zu message(s) or status(es) without a usable sender or id ignored",
                 w->a->name, w->b.skipped);
    w->pending = 1;
    if (n) {
        w->entries = calloc(n, sizeof *w->entries);
        if (!w->entries) {
            log_error("%s webhook: out of memory for %zu events", w->a->name, n);
            w->failed = true;
        }
    }
    for (size_t i = 0; i < n && !w->failed; i++) {
        struct eventlog_entry *e = &w->entries[i];
        webhook_entry(w, i, e);
        w->pending++;
        if (group_commit_submit(in->gc, e, webhook_on_commit, w) != 0) {
            /* Not queued: no callback will come for this one. */
            w->pending--;
            w->failed = true;
        }
    }
    webhook_release(w);
    return HTTP_SUSPENDED;
}

/* --- the handlers ------------------------------------------------------------- */

/* An API-key webhook (email): its switch, and the key's channel. The key
 * itself (Bearer or Basic's password) was checked by the route's guard
 * (routes.c: SCOPE_INGEST | AUTH_BASIC). False after answering. */
static bool webhook_api_key(ingest *in, http_req *r, const struct inbound_adapter *a)
{
    bool on = true;
    const char *why;
    if (config_bool(a->toggle, true, &on, &why) != 0 || !on) {
        webhook_not_configured(r, a->name);
        return false;
    }
    const struct access_grant *g = auth_grant(r);
    assert(g && "an API-key webhook's route takes a key (routes.c)");
    return auth_channel_ok(in->auth, r, g, a->channel);
}

http_status webhook_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct inbound_adapter *a = webhook_adapter(r);
    if (!a)
        return HTTP_DONE;
    const char *settings[INBOUND_MAX_SETTINGS] = {0};
    if (a->auth == INBOUND_API_KEY) {
        if (!webhook_api_key(in, r, a))
            return HTTP_DONE;
    } else {
        for (size_t i = 0; i < INBOUND_MAX_SETTINGS && a->settings[i]; i++)
            if (!(settings[i] = webhook_setting(a->settings[i])))
                return webhook_not_configured(r, a->name);
        if (!http_header(r, a->signature_header)) {
            char why[96];
            snprintf(why, sizeof why, "missing %s", a->signature_header);
            return webhook_bad_signature(r, a->name, why);
        }
    }
    const char *ct = http_header(r, "Content-Type");
    if (a->content_type && !body_type_is(ct, a->content_type)) {
        ingest_reject(r, 415, "unsupported_media_type", "unsupported_media_type", NULL,
                      "expected Content-Type \"%s\", got \"%.100s\"", a->content_type,
                      ct ? ct : "");
        return HTTP_DONE;
    }
    struct webhook_req *w = webhook_req_new(r, a);
    if (!w)
        return HTTP_DONE;
    char url[2048];
    struct inbound_req req = {.header = webhook_header, .query = webhook_query, .ctx = r};
    req.body = http_body(r, &req.len);
    req.url = webhook_url(r, url, sizeof url);
    struct inbound_error err;
    if (a->verify && a->verify(settings, &req, &w->b, &err) != 0)
        return webhook_refused(r, a->name, &err);
    if (!inbound_loaded(&w->b) && a->load(&w->b, req.body, req.len, &err) != 0)
        return webhook_refused(r, a->name, &err);
    if (a->map(&w->b, time_now_us(), &err) != 0)
        return webhook_refused(r, a->name, &err);
    return webhook_submit(in, w);
}

http_status webhook_handshake(http_req *r, void *arg)
{
    (void)arg;
    const struct inbound_adapter *a = webhook_adapter(r);
    if (!a)
        return HTTP_DONE;
    const char *token = a->handshake ? webhook_setting(a->handshake_setting) : NULL;
    if (!token)
        return webhook_not_configured(r, a->name);
    struct inbound_req req = {.header = webhook_header, .query = webhook_query, .ctx = r};
    const char *challenge = a->handshake(token, &req);
    if (!challenge) {
        ingest_reject(r, 403, "invalid_verify_token", "forbidden", NULL,
                      "%s webhook: hub.mode must be \"subscribe\" and hub.verify_token must match",
                      a->name);
        return HTTP_DONE;
    }
    log_info("%s webhook verified by the platform", a->name);
    http_reply(r, 200, "text/plain; charset=utf-8", challenge, strlen(challenge));
    return HTTP_DONE;
}
