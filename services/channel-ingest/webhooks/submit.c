/* submit.c — webhook answers and the group commit of a request's messages.
 *
 * Counting: pending starts at 1, the submitting loop's own reference, so
 * that a callback run synchronously inside group_commit_submit (the write
 * queue failing at once) can never bring it to zero and answer while the
 * loop still submits; the loop drops its reference last. After a failed
 * submission nothing more is submitted: the answer will be 503 anyway.
 */
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"

static void webhook_count(const char *family, const char *channel, const char *label, double v)
{
    char name[160];
    snprintf(name, sizeof name, "%s{channel=\"%s\"%s}", family, channel, label);
    metrics_add(name, v);
}

const char *webhook_secret(const char *name)
{
    const char *v = config_str(name, NULL);
    return v && *v ? v : NULL;
}

http_status webhook_not_configured(http_req *r, const char *channel)
{
    ingest_reject(r, 404, "webhook_not_configured", "not_found", NULL,
                  "the %s webhook is not configured", channel);
    return HTTP_DONE;
}

http_status webhook_bad_signature(http_req *r, const char *channel, const char *why)
{
    ingest_reject(r, 401, "invalid_signature", "invalid_signature", NULL, "%s webhook: %s", channel,
                  why);
    return HTTP_DONE;
}

static void webhook_unavailable(http_req *r)
{
    metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
    ingest_reply_unavailable(r);
}

http_status webhook_refused(http_req *r, const char *channel, const struct webhook_error *err)
{
    if (err->status == 503) {
        log_error("%s webhook: %s", channel, err->message);
        webhook_unavailable(r);
        return HTTP_DONE;
    }
    const char *code = err->code ? err->code : "invalid_json";
    ingest_reject(r, 400, code, code, NULL, "%s webhook: %s", channel, err->message);
    return HTTP_DONE;
}

static void webhook_req_destroy(void *p)
{
    struct webhook_req *w = p;
    for (size_t i = 0; w->entries && i < w->b.n; i++)
        eventlog_entry_release(&w->entries[i]);
    free(w->entries);
    webhook_batch_release(&w->b);
    free(w);
}

struct webhook_req *webhook_req_new(http_req *r, const char *channel)
{
    struct webhook_req *w = calloc(1, sizeof *w);
    if (!w) {
        log_error("%s webhook: out of memory", channel);
        webhook_unavailable(r);
        return NULL;
    }
    w->r = r;
    w->channel = channel;
    http_set_data(r, w, webhook_req_destroy);
    return w;
}

void webhook_reply_json(struct webhook_req *w)
{
    json_t *events = json_array();
    for (size_t i = 0; events && i < w->b.n; i++) {
        const struct eventlog_entry *e = &w->entries[i];
        json_array_append_new(events, json_pack("{s:s, s:I, s:b}", "event_id", e->event_id, "seq",
                                                (json_int_t)e->seq, "duplicate", e->duplicate));
    }
    http_reply_json(w->r, 200,
                    json_pack("{s:o*, s:I}", "events", events, "ignored",
                              (json_int_t)(w->b.ignored + w->b.skipped)));
}

/* The last reference is gone: every submitted message is called back. */
static void webhook_finish(struct webhook_req *w)
{
    if (w->failed) {
        webhook_unavailable(w->r);
        return;
    }
    size_t accepted = w->b.n - w->duplicates;
    if (accepted)
        webhook_count("carebus_ingest_webhook_messages_total", w->channel, ",result=\"accepted\"",
                      (double)accepted);
    if (w->duplicates)
        webhook_count("carebus_ingest_webhook_messages_total", w->channel, ",result=\"duplicate\"",
                      (double)w->duplicates);
    if (w->b.ignored)
        webhook_count("carebus_ingest_webhook_messages_total", w->channel, ",result=\"ignored\"",
                      (double)w->b.ignored);
    if (w->b.skipped)
        webhook_count("carebus_ingest_webhook_messages_total", w->channel, ",result=\"skipped\"",
                      (double)w->b.skipped);
    (w->reply ? w->reply : webhook_reply_json)(w);
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
    else if (e->duplicate)
        w->duplicates++;
    webhook_release(w);
}

http_status webhook_submit(ingest *in, struct webhook_req *w)
{
    if (w->b.skipped)
        log_info("%s webhook: %zu message(s) without a usable sender or id ignored", w->channel,
                 w->b.skipped);
    w->pending = 1;
    if (w->b.n) {
        w->entries = calloc(w->b.n, sizeof *w->entries);
        if (!w->entries) {
            log_error("%s webhook: out of memory for %zu messages", w->channel, w->b.n);
            w->failed = true;
        }
    }
    for (size_t i = 0; i < w->b.n && !w->failed; i++) {
        struct eventlog_entry *e = &w->entries[i];
        struct message *m = w->b.msg[i];
        e->ev = &m->ev;
        e->idem_scope = m->idem_scope;
        e->idem_key = m->contact.external_id;
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
