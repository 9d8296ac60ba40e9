/* stream.c — GET /events: the event feed pushed to the page as
 * server-sent events, so the inbox and the open ticket change live.
 *
 * Each request is one long poll of channel-ingest's GET /v1/events (its
 * cursor in Last-Event-ID, which EventSource sends back by itself) with
 * the session's key; the answer is a text/event-stream of one "changes"
 * event — the types and ticket ids that changed — whose id is the feed's
 * next cursor, and the connection ends: the browser reconnects after the
 * "retry" given (250 ms), with the new cursor. A first request without a
 * cursor starts at the newest one the desk has seen, once the API said
 * the key stands (GET /v1/sessions/current), or walks the feed to its end
 * once. A key the API refuses is answered 401 (signed out). The long polls have workers of their
 * own (d->streams), so that open pages never hold up the API's calls. XXX: one request per batch
 * rather than one endless response, because the HTTP layer answers whole bodies; a change still
 * reaches the page within the reconnection delay. XXX: each open page holds
 * a worker of d->streams through its long poll (CAREBUS_DESK_STREAMS of them,
 * beyond which pages wait their turn); one shared poll fanned out to every
 * page would hold one.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"
#include "log.h"
#include "upstream.h"
#include "url.h"

#define STREAM_TYPES "ticket.*,message.*,agent.*,customer.*,survey.*,call.*"
#define STREAM_WAIT_S 20
#define STREAM_HEAD_ROUNDS 500

struct stream_job {
    struct pool_job j;
    desk *d;
    http_req *r;
    char key[APIKEY_LEN];
    char after[DESK_CURSOR_MAX]; /* "" : find the end */
    int rc;
    bool refused; /* the API refused the key: signed out */
    bool hello;   /* the answer only gives the cursor */
    bool check;   /* the cursor is known: only the key is checked */
    bool fetched; /* who: told by the API (to keep a copy of) */
    struct desk_agent who;
    char next[DESK_CURSOR_MAX];
    buf out; /* the event-stream's text */
};

/* One page of the feed; its items' types and tickets appended to changes. */
static int page(struct stream_job *s, CURL *c, int wait, int limit, json_t *changes, bool *more)
{
    char enc[3 * DESK_CURSOR_MAX + 1], path[3 * DESK_CURSOR_MAX + 256];
    url_encode(enc, s->after);
    snprintf(path, sizeof path, "/v1/events?types=%s&limit=%d&wait=%d%s%s", STREAM_TYPES, limit,
             wait, s->after[0] ? "&after=" : "", s->after[0] ? enc : "");
    struct upstream_answer a = {.body = BUF_INIT};
    int rc =
        upstream_call(c, s->d->streams, s->d->api_url, s->key, "GET", path, NULL, 0, wait + 10, &a);
    s->refused = rc == 0 && a.status == 401;
    json_t *j =
        rc == 0 && a.status == 200 ? json_loadb(buf_str(&a.body), a.body.len, 0, NULL) : NULL;
    buf_release(&a.body);
    const char *next = json_string_value(json_object_get(j, "next_cursor"));
    if (!next) {
        json_decref(j);
        return -1;
    }
    snprintf(s->after, sizeof s->after, "%s", next);
    *more = json_is_true(json_object_get(j, "has_more"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "events"), i, e)
    {
        if (!changes)
            break;
        /* "" when the event names no ticket (yet). */
        const char *t = json_string_value(json_object_get(e, "ticket_id"));
        json_array_append_new(changes, json_pack("{s:O?, s:s?}", "type", json_object_get(e, "type"),
                                                 "ticket_id", t && *t ? t : NULL));
    }
    json_decref(j);
    return 0;
}

static void stream_work(struct pool_job *j, void *state)
{
    struct stream_job *s = (struct stream_job *)j;
    struct desk_worker *w = state;
    CURL *c = w ? w->curl : NULL;
    bool more = false;
    s->rc = -1;
    if (s->check) {
        int rc = sessions_fetch(c, s->d->streams, s->d->api_url, s->key, &s->who);
        s->refused = rc > 0;
        s->fetched = rc == 0;
        s->rc = rc == 0 ? 0 : -1;
        return;
    }
    if (!s->after[0]) {
        s->hello = true;
        for (int i = 0; i < STREAM_HEAD_ROUNDS && !pool_stopping(s->d->streams); i++) {
            if (page(s, c, 0, 1000, NULL, &more) != 0)
                return;
            if (!more)
                break;
        }
        snprintf(s->next, sizeof s->next, "%s", s->after);
        s->rc = 0;
        return;
    }
    json_t *changes = json_array();
    if (changes && page(s, c, STREAM_WAIT_S, 200, changes, &more) == 0) {
        snprintf(s->next, sizeof s->next, "%s", s->after);
        char *txt = json_dumps(changes, JSON_COMPACT);
        if (txt && json_array_size(changes))
            buf_printf(&s->out, "event: changes\ndata: %s\n", txt);
        free(txt);
        s->rc = 0;
    }
    json_decref(changes);
}

static void stream_done(struct pool_job *j, bool cancelled)
{
    struct stream_job *s = (struct stream_job *)j;
    if (s->fetched)
        sessions_remember(s->d->sessions, s->key, &s->who);
    if (!cancelled && s->refused) {
        sessions_forget(s->d->sessions, s->key);
        desk_signed_out(s->r, false);
    } else if (cancelled || s->rc != 0) {
        http_add_header(s->r, "Retry-After", "2");
        http_reply_error(s->r, 503, "unavailable", NULL, "the event feed did not answer");
    } else {
        if (!s->check)
            snprintf(s->d->head, sizeof s->d->head, "%s", s->next);
        buf b = BUF_INIT;
        buf_printf(&b, "retry: 250\nid: %s\n", s->next);
        if (s->hello)
            buf_puts(&b, "event: hello\ndata: {}\n\n");
        else if (s->out.len)
            buf_printf(&b, "%s\n", buf_str(&s->out));
        else
            buf_puts(&b, ": idle\n\n");
        http_add_header(s->r, "Cache-Control", "no-store");
        http_reply(s->r, 200, "text/event-stream; charset=utf-8", buf_str(&b), b.len);
        buf_release(&b);
    }
    buf_release(&s->out);
    OPENSSL_cleanse(s->key, sizeof s->key);
    free(s);
}

http_status stream_get(http_req *r, void *arg)
{
    desk *d = arg;
    const char *after = http_header(r, "Last-Event-ID");
    if (!after || !*after)
        after = d->head;
    if (strlen(after) >= DESK_CURSOR_MAX) {
        http_reply_error(r, 400, "invalid_field", "Last-Event-ID", "the cursor is too long");
        return HTTP_DONE;
    }
    struct stream_job *s = calloc(1, sizeof *s);
    if (!s) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return HTTP_DONE;
    }
    s->j.work = stream_work;
    s->j.done = stream_done;
    s->d = d;
    s->r = r;
    if (!desk_key(d, r, s->key)) { /* the guard opened it: never */
        free(s);
        desk_signed_out(r, false);
        return HTTP_DONE;
    }
    snprintf(s->after, sizeof s->after, "%s", after);
    /* A first request with a known head answers it once the key is
     * checked (the page's first call may come from a revoked cookie). */
    if (!http_header(r, "Last-Event-ID") && d->head[0]) {
        s->hello = s->check = true;
        snprintf(s->next, sizeof s->next, "%s", d->head);
    }
    if (pool_submit(d->streams, &s->j) != 0) {
        OPENSSL_cleanse(s->key, sizeof s->key);
        free(s);
        http_reply_error(r, 503, "unavailable", NULL, "the desk is shutting down");
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}
