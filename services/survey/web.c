/* web.c — the survey page and the answer API; the route table.
 *
 *   GET  /                          what this service is (the URL `make run` prints)
 *   GET  /example, POST /example    the form as a customer sees it; records nothing
 *   GET  /s/{token}                 the form (or a notice)
 *   POST /s/{token}                 the form's submission (urlencoded)
 *   POST /v1/surveys/{token}/answer the same for integrators (JSON)
 *
 * A link is checked in memory first (signature, expiry): a forged or
 * expired token never reaches PostgreSQL. Then, without blocking (dbq), the
 * survey is looked up and the answer stored with its survey.answered event
 * by survey.answer() in one transaction; the event is published after the
 * commit. Every rejection changes nothing.
 *
 * Cross-site submission: a form post must pass three checks, each enough on
 * its own against a page on another site:
 *   1. Origin (else Referer), when the browser sends one, names this site;
 *   2. the hidden "csrf" field is HMAC(k_csrf, token | nonce), where nonce is
 *      the value of the cb_csrf cookie set with the form: another site can
 *      neither read the form (same-origin policy) nor set our cookie, so it
 *      cannot produce a matching pair (the signed double-submit cookie);
 *   3. the cookie is SameSite=Strict, HttpOnly and scoped to the survey's
 *      path, so a cross-site post does not even carry it.
 * It is stateless, so it holds across restarts and instances. The JSON API
 * needs no cookie: it takes only application/json, which a page on another
 * site cannot send without a CORS preflight that this service never
 * allows; the link token is the capability there, as it is for the page.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "answer.h"
#include "eventlog.h"
#include "hex.h"
#include "id.h"
#include "lang.h"
#include "log.h"
#include "metrics.h"
#include "page.h"
#include "scope.h"
#include "survey.h"
#include "timeutil.h"

#define COOKIE_NAME "cb_csrf"

typedef enum { OUT_OK, OUT_UNKNOWN, OUT_ANSWERED, OUT_EXPIRED, OUT_UNAVAILABLE } outcome;

/* One request's state while it waits for PostgreSQL (http_set_data). */
struct web_req {
    survey *sv;
    http_req *r;
    bool api;
    bool post;
    language_id lang;
    bool lang_fixed; /* asked for (?lang, Accept-Language, the form): keep it */
    char token[SURVEY_TOKEN_LEN];
    char survey_id[ID_LEN];
    int64_t exp_s;
    struct survey_answer a;
    char ticket[ID_LEN], customer[ID_LEN], cause[ID_LEN], event_id[ID_LEN];
    int64_t occurred_us;
    struct eventlog_entry entry; /* the answer's event, packed once */
};

static void web_req_destroy(void *p)
{
    struct web_req *w = p;
    survey_answer_clear(&w->a);
    eventlog_entry_release(&w->entry);
    free(w);
}

bool survey_ready(void *arg)
{
    survey *sv = arg;
    return sv->keys_ready && db_up(sv->svc->db) && sv->web && dbq_up(sv->web);
}

static void count_rejected(const char *reason)
{
    char series[96];
    snprintf(series, sizeof series, "carebus_survey_rejected_total{reason=\"%s\"}", reason);
    metrics_add(series, 1);
}

/* --- pages ---------------------------------------------------------------- */

/* The language a browser asks for: ?lang=, then Accept-Language. */
static bool asked_lang(http_req *r, language_id *out)
{
    const char *q = http_query(r, "lang");
    if (q && language_parse(q, out) == 0)
        return true;
    return language_accept(http_header(r, "Accept-Language"), out) == 1;
}

static void page_headers(http_req *r, language_id l)
{
    http_add_header(r, "Content-Security-Policy", survey_page_csp());
    http_add_header(r, "X-Frame-Options", "DENY");
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    /* The token is in the path: never send it elsewhere as a Referer. The
     * same-origin Referer (and Origin) stay, for the check of posts. */
    http_add_header(r, "Referrer-Policy", "same-origin");
    http_add_header(r, "Cache-Control", "no-store");
    http_add_header(r, "Content-Language", language_code(l));
    http_add_header(r, "Vary", "Accept-Language, Cookie");
}

static void reply_page(http_req *r, unsigned status, language_id l, buf *b)
{
    page_headers(r, l);
    if (b->failed) {
        http_reply(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
    } else {
        http_reply(r, status, "text/html; charset=utf-8", buf_str(b), b->len);
    }
    buf_release(b);
}

static void reply_notice(http_req *r, unsigned status, language_id l, survey_notice n,
                         const char *token)
{
    buf b = BUF_INIT;
    survey_page_notice(&b, l, n, token);
    if (status == 503)
        http_add_header(r, "Retry-After", "5");
    reply_page(r, status, l, &b);
}

/* The value of the cb_csrf cookie, if a well-formed one was sent. */
static bool cookie_nonce(http_req *r, char out[SURVEY_NONCE_LEN])
{
    const char *c = http_header(r, "Cookie");
    while (c && *c) {
        while (*c == ' ' || *c == ';')
            c++;
        size_t len = strcspn(c, ";");
        size_t nl = sizeof COOKIE_NAME - 1;
        if (len == nl + SURVEY_NONCE_LEN && strncmp(c, COOKIE_NAME "=", nl + 1) == 0) {
            memcpy(out, c + nl + 1, SURVEY_NONCE_LEN - 1);
            out[SURVEY_NONCE_LEN - 1] = '\0';
            if (survey_nonce_valid(out))
                return true;
        }
        c += len;
    }
    return false;
}

/* The path part of the link base ("" or "/survey"), for the cookie. */
static const char *base_path(const survey *sv)
{
    return sv->cfg.base_url + strlen(sv->cfg.origin);
}

static void reply_form(struct web_req *w, unsigned status, const struct survey_form *f)
{
    http_req *r = w->r;
    char nonce[SURVEY_NONCE_LEN], csrf[SURVEY_CSRF_LEN];
    bool have = cookie_nonce(r, nonce);
    if (!have && survey_nonce_new(nonce) != 0) {
        reply_notice(r, 503, w->lang, NOTICE_UNAVAILABLE, NULL);
        return;
    }
    survey_csrf_make(&w->sv->keys, w->token, nonce, csrf);
    if (!have) {
        long max_age = (long)(w->exp_s - time(NULL));
        buf c = BUF_INIT;
        buf_printf(&c, COOKIE_NAME "=%s; Path=%s/s/%s; Max-Age=%ld; HttpOnly; SameSite=Strict%s",
                   nonce, base_path(w->sv), w->token, max_age > 60 ? max_age : 60,
                   w->sv->cfg.secure_cookie ? "; Secure" : "");
        http_add_header(r, "Set-Cookie", buf_str(&c));
        buf_release(&c);
    }
    struct survey_form_view v = {.lang = w->lang, .token = w->token, .csrf = csrf};
    if (f) {
        v.csat = f->a.csat;
        v.ces = f->a.ces;
        v.comment = f->a.comment;
        v.bad = f->bad;
    }
    buf b = BUF_INIT;
    survey_page_form(&b, &v);
    reply_page(r, status, w->lang, &b);
}

/* --- the front page and its example (no token, no database) ----------------- */

static http_status home_get(http_req *r, void *arg)
{
    (void)arg;
    language_id l = LANGUAGE_VI;
    asked_lang(r, &l);
    buf b = BUF_INIT;
    survey_page_home(&b, l);
    reply_page(r, 200, l, &b);
    return HTTP_DONE;
}

/* The form exactly as on a link, posting back here; no cookie, no CSRF
 * field: the post only says that nothing was recorded. */
static http_status example_get(http_req *r, void *arg)
{
    (void)arg;
    language_id l = LANGUAGE_VI;
    asked_lang(r, &l);
    struct survey_form_view v = {.lang = l, .token = "example", .csrf = "", .example = true};
    buf b = BUF_INIT;
    survey_page_form(&b, &v);
    reply_page(r, 200, l, &b);
    return HTTP_DONE;
}

static http_status example_post(http_req *r, void *arg)
{
    (void)arg;
    language_id l = LANGUAGE_VI;
    asked_lang(r, &l);
    size_t len;
    const char *body = http_body(r, &len);
    struct survey_form f;
    if (survey_form_parse(body, len, &f) == 0) {
        language_id fl;
        if (f.lang && language_parse(f.lang, &fl) == 0)
            l = fl;
        survey_form_clear(&f);
    }
    reply_notice(r, 200, l, NOTICE_EXAMPLE, NULL);
    return HTTP_DONE;
}

/* --- the answer pipeline (page and API) ------------------------------------ */

static void reply_outcome(struct web_req *w, outcome o)
{
    http_req *r = w->r;
    static const struct {
        unsigned status;
        const char *code, *message, *reason;
        survey_notice notice;
    } map[] = {
        [OUT_UNKNOWN] = {404, "not_found", "no survey for this link", "unknown", NOTICE_INVALID},
        [OUT_ANSWERED] = {409, "already_answered", "this survey was already answered", "answered",
                          NOTICE_ANSWERED},
        [OUT_EXPIRED] = {410, "expired", "this survey has expired", "expired", NOTICE_EXPIRED},
        [OUT_UNAVAILABLE] = {503, "unavailable", "the survey store is unavailable; retry later",
                             "unavailable", NOTICE_UNAVAILABLE},
    };
    if (o == OUT_OK) {
        metrics_add(w->api ? "carebus_survey_answers_total{via=\"api\"}"
                           : "carebus_survey_answers_total{via=\"page\"}",
                    1);
        log_info("survey %s answered (%s): csat %d, ces %d", w->survey_id, w->api ? "api" : "page",
                 w->a.csat, w->a.ces);
        if (w->api) {
            json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "survey_id", w->survey_id,
                                  "ticket_id", w->ticket, "status", "answered", "csat",
                                  w->a.csat ? json_integer(w->a.csat) : json_null(), "ces",
                                  w->a.ces ? json_integer(w->a.ces) : json_null(), "comment",
                                  w->a.comment ? json_string(w->a.comment) : json_null());
            http_reply_json(r, 201, j);
        } else {
            buf b = BUF_INIT;
            survey_page_thanks(&b, w->lang);
            reply_page(r, 200, w->lang, &b);
        }
        return;
    }
    count_rejected(map[o].reason);
    log_info("survey %s: %s %s refused: %s", w->survey_id[0] ? w->survey_id : "?", http_method(r),
             w->api ? "answer" : "page", map[o].reason);
    if (o == OUT_UNAVAILABLE)
        http_add_header(r, "Retry-After", "5");
    if (w->api)
        http_reply_error(r, map[o].status, map[o].code, NULL, "%s", map[o].message);
    else
        reply_notice(r, map[o].status, w->lang, map[o].notice, NULL);
}

/* Fills the survey.answered envelope from w (stack storage of the caller). */
static void answered_event(struct web_req *w, event *ev, Carebus__V1__SurveyAnswered *body,
                           Google__Protobuf__Int32Value *csat, Google__Protobuf__Int32Value *ces,
                           Google__Protobuf__Timestamp *occurred)
{
    carebus__v1__survey_answered__init(body);
    google__protobuf__int32_value__init(csat);
    google__protobuf__int32_value__init(ces);
    google__protobuf__timestamp__init(occurred);
    body->survey_id = w->survey_id;
    csat->value = w->a.csat;
    ces->value = w->a.ces;
    body->csat = w->a.csat ? csat : NULL;
    body->ces = w->a.ces ? ces : NULL;
    body->comment = w->a.comment ? w->a.comment : "";
    event_ts_set(occurred, w->occurred_us);
    carebus__v1__envelope__init(ev);
    ev->event_id = w->event_id;
    ev->type = (char *)event_type_name(CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED);
    ev->stream = (char *)w->sv->svc->stream;
    ev->occurred_at = occurred;
    ev->customer_id = w->customer;
    ev->ticket_id = w->ticket;
    ev->causation_id = w->cause;
    ev->body_case = CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED;
    ev->survey_answered = body;
}

static void on_stored(PGresult *res, void *arg)
{
    struct web_req *w = arg;
    if (!res) {
        reply_outcome(w, OUT_UNAVAILABLE);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        const char *m = PQresultErrorMessage(res);
        log_error("storing the answer to survey %s failed: %.*s", w->survey_id,
                  (int)strcspn(m, "\n"), m);
        reply_outcome(w, OUT_UNAVAILABLE);
        return;
    }
    const char *o = db_value(res, 0, "outcome");
    if (strcmp(o, "ok") != 0) {
        reply_outcome(w, strcmp(o, "answered") == 0  ? OUT_ANSWERED
                         : strcmp(o, "expired") == 0 ? OUT_EXPIRED
                                                     : OUT_UNKNOWN);
        return;
    }
    /* Committed: publish the bytes stored, with what the log assigned, as
     * the log's readers will see them. */
    const char *stream = w->sv->svc->stream;
    if (eventlog_entry_seal(&w->entry, stream, strtoull(db_value(res, 0, "seq"), NULL, 10),
                            strtoll(db_value(res, 0, "recorded_us"), NULL, 10)) == 0)
        bus_publish_bytes(w->sv->svc->bus, stream, w->entry.wire, w->entry.wire_len);
    reply_outcome(w, OUT_OK);
}

/* A bytea parameter in PostgreSQL's hex format. */
static void hex_bytea(buf *b, const uint8_t *p, size_t n)
{
    char *hex = malloc(2 * n + 1);
    if (!hex) {
        b->failed = 1;
        return;
    }
    hex_encode(p, n, hex);
    buf_puts(b, "\\x");
    buf_append(b, hex, 2 * n);
    free(hex);
}

static void store(struct web_req *w)
{
    event ev;
    Carebus__V1__SurveyAnswered body;
    Google__Protobuf__Int32Value csat, ces;
    Google__Protobuf__Timestamp occurred;
    w->occurred_us = time_now_us();
    id_derive2(w->survey_id, "survey.answered", w->event_id);
    /* Packed once, as the log stores it; survey.answer appends it. */
    answered_event(w, &ev, &body, &csat, &ces, &occurred);
    w->entry.ev = &ev;
    int packed = eventlog_entry_pack(&w->entry, w->sv->svc->stream);
    w->entry.ev = NULL;
    buf payload = BUF_INIT, datakey = BUF_INIT;
    if (packed == 0) {
        size_t n;
        const uint8_t *stored = eventlog_entry_stored(&w->entry, &n);
        hex_bytea(&payload, stored, n);
        if (w->entry.sealed)
            hex_bytea(&datakey, w->entry.datakey, sizeof w->entry.datakey);
    }
    char when[TIME_RFC3339_LEN], cs[12], ce[12];
    time_format_rfc3339(w->occurred_us, when);
    snprintf(cs, sizeof cs, "%d", w->a.csat);
    snprintf(ce, sizeof ce, "%d", w->a.ces);
    const char *p[] = {w->survey_id,         w->a.csat ? cs : NULL,
                       w->a.ces ? ce : NULL, w->a.comment,
                       w->event_id,          when,
                       buf_str(&payload),    w->entry.sealed ? buf_str(&datakey) : NULL};
    int rc = packed != 0 || payload.failed || datakey.failed
                 ? -1
                 : dbq_query(w->sv->web,
                             "SELECT outcome, seq, recorded_us FROM survey.answer($1, $2, $3, $4,"
                             " $5, $6, $7::bytea, $8::bytea)",
                             8, p, on_stored, w);
    buf_release(&payload);
    buf_release(&datakey);
    if (rc != 0)
        reply_outcome(w, OUT_UNAVAILABLE);
}

static void on_lookup(PGresult *res, void *arg)
{
    struct web_req *w = arg;
    if (!res) {
        reply_outcome(w, OUT_UNAVAILABLE);
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(res);
        log_error("looking up survey %s failed: %.*s", w->survey_id, (int)strcspn(m, "\n"), m);
        reply_outcome(w, OUT_UNAVAILABLE);
        return;
    }
    if (PQntuples(res) == 0 || strcmp(db_value(res, 0, "status"), "scheduled") == 0) {
        reply_outcome(w, OUT_UNKNOWN);
        return;
    }
    language_id l;
    const char *language = db_value(res, 0, "language");
    if (!w->lang_fixed && language_parse(language ? language : "", &l) == 0)
        w->lang = l;
    if (strcmp(db_value(res, 0, "status"), "answered") == 0) {
        reply_outcome(w, OUT_ANSWERED);
        return;
    }
    if (db_value(res, 0, "expired")[0] == 't') {
        reply_outcome(w, OUT_EXPIRED);
        return;
    }
    if (!w->post) {
        reply_form(w, 200, NULL);
        return;
    }
    const char *customer = db_value(res, 0, "customer_id");
    const char *cause = db_value(res, 0, "requested_event_id");
    snprintf(w->ticket, sizeof w->ticket, "%s", db_value(res, 0, "ticket_id"));
    snprintf(w->customer, sizeof w->customer, "%s", customer ? customer : "");
    snprintf(w->cause, sizeof w->cause, "%s", cause ? cause : "");
    store(w);
}

static http_status lookup(struct web_req *w)
{
    const char *p[] = {w->survey_id};
    if (dbq_read(w->sv->web,
                 "SELECT status, expires_at <= now() AS expired, ticket_id, customer_id, language,"
                 " requested_event_id FROM survey.surveys WHERE id = $1",
                 1, p, on_lookup, w) != 0) {
        reply_outcome(w, OUT_UNAVAILABLE);
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

/* Common start: the request's state (freed with the request) and its
 * token. NULL when the request was answered (out of memory). */
static struct web_req *web_begin(survey *sv, http_req *r, bool api, bool post)
{
    struct web_req *w = calloc(1, sizeof *w);
    if (!w) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    http_set_data(r, w, web_req_destroy);
    w->sv = sv;
    w->r = r;
    w->api = api;
    w->post = post;
    w->lang = LANGUAGE_VI;
    if (!api)
        w->lang_fixed = asked_lang(r, &w->lang);
    const char *token = http_param(r, "token");
    snprintf(w->token, sizeof w->token, "%s",
             token && strlen(token) < sizeof w->token ? token : "");
    return w;
}

/* Checks the link in memory. false: answered (forged, expired or no key). */
static bool check_token(struct web_req *w)
{
    if (!w->sv->keys_ready) {
        reply_outcome(w, OUT_UNAVAILABLE);
        return false;
    }
    switch (survey_token_check(&w->sv->keys, w->token, time(NULL), w->survey_id, &w->exp_s)) {
    case TOKEN_OK:
        return true;
    case TOKEN_EXPIRED:
        reply_outcome(w, OUT_EXPIRED);
        return false;
    case TOKEN_FORGED:
        break;
    }
    w->survey_id[0] = '\0';
    count_rejected("forged");
    log_info("%s %s: a forged or malformed survey link", http_method(w->r),
             w->api ? "answer" : "page");
    if (w->api)
        http_reply_error(w->r, 404, "not_found", NULL, "no survey for this link");
    else
        reply_notice(w->r, 404, w->lang, NOTICE_INVALID, NULL);
    return false;
}

static http_status page_get(http_req *r, void *arg)
{
    struct web_req *w = web_begin(arg, r, false, false);
    if (!w || !check_token(w))
        return HTTP_DONE;
    return lookup(w);
}

static bool content_type_is(http_req *r, const char *want)
{
    const char *ct = http_header(r, "Content-Type");
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* scheme://host[:port] of a URL (Origin or Referer) is ours: the configured
 * link base, or the Host this request was sent to (a browser sets Host, and
 * a page on another site cannot make it name us while naming itself as the
 * origin). */
static bool origin_ours(const survey *sv, http_req *r, const char *url)
{
    size_t skip = strncasecmp(url, "https://", 8) == 0  ? 8
                  : strncasecmp(url, "http://", 7) == 0 ? 7
                                                        : 0;
    if (!skip)
        return false;
    size_t len = skip + strcspn(url + skip, "/?#");
    if (strlen(sv->cfg.origin) == len && strncasecmp(url, sv->cfg.origin, len) == 0)
        return true;
    const char *host = http_header(r, "Host");
    return host && strlen(host) == len - skip && strncasecmp(url + skip, host, len - skip) == 0;
}

static bool same_site_post(const survey *sv, http_req *r)
{
    const char *origin = http_header(r, "Origin");
    if (origin)
        return origin_ours(sv, r, origin); /* "null" is not ours */
    const char *ref = http_header(r, "Referer");
    if (ref)
        return origin_ours(sv, r, ref);
    /* Neither (an old or privacy-minded client): the CSRF field decides. */
    return true;
}

static http_status page_post(http_req *r, void *arg)
{
    struct web_req *w = web_begin(arg, r, false, true);
    if (!w)
        return HTTP_DONE;
    if (!content_type_is(r, "application/x-www-form-urlencoded")) {
        count_rejected("content_type");
        reply_notice(r, 415, w->lang, NOTICE_BAD_REQUEST, NULL);
        return HTTP_DONE;
    }
    size_t len;
    const char *body = http_body(r, &len);
    struct survey_form f;
    if (survey_form_parse(body, len, &f) != 0) {
        reply_notice(r, 503, w->lang, NOTICE_UNAVAILABLE, NULL);
        return HTTP_DONE;
    }
    /* The page's own language travels with the form. */
    language_id l;
    if (f.lang && language_parse(f.lang, &l) == 0) {
        w->lang = l;
        w->lang_fixed = true;
    }
    http_status st = HTTP_DONE;
    if (!check_token(w))
        goto out;
    char nonce[SURVEY_NONCE_LEN];
    if (!same_site_post(w->sv, r) || !cookie_nonce(r, nonce) ||
        !survey_csrf_check(&w->sv->keys, w->token, nonce, f.csrf)) {
        count_rejected("csrf");
        log_info("survey %s: form post refused: no valid CSRF field, cookie or origin",
                 w->survey_id);
        reply_notice(r, 403, w->lang, NOTICE_CSRF, w->token);
        goto out;
    }
    if (f.bad) {
        count_rejected("invalid");
        reply_form(w, 400, &f);
        goto out;
    }
    w->a = f.a;
    f.a = (struct survey_answer){0};
    st = lookup(w);
out:
    survey_form_clear(&f);
    return st;
}

static http_status api_answer(http_req *r, void *arg)
{
    struct web_req *w = web_begin(arg, r, true, true);
    if (!w)
        return HTTP_DONE;
    if (!content_type_is(r, "application/json")) {
        count_rejected("content_type");
        http_reply_error(r, 415, "unsupported_media_type", NULL,
                         "expected Content-Type: application/json");
        return HTTP_DONE;
    }
    if (!check_token(w))
        return HTTP_DONE;
    size_t len;
    const char *body = http_body(r, &len);
    const char *field = NULL;
    char msg[256];
    if (survey_answer_json(body, len, &w->a, &field, msg, sizeof msg) != 0) {
        count_rejected("invalid");
        http_reply_error(r, 400, "invalid", field, "%s", msg);
        return HTTP_DONE;
    }
    return lookup(w);
}

/* Public: customers answer without keys; a survey's token is its
 * credential (token.h). */
const struct http_route survey_routes[] = {
    {"GET", "/", home_get, SCOPE_PUBLIC},
    {"GET", "/example", example_get, SCOPE_PUBLIC},
    {"POST", "/example", example_post, SCOPE_PUBLIC},
    {"GET", "/s/:token", page_get, SCOPE_PUBLIC},
    {"POST", "/s/:token", page_post, SCOPE_PUBLIC},
    {"POST", "/v1/surveys/:token/answer", api_answer, SCOPE_PUBLIC},
};

const size_t survey_routes_count = sizeof survey_routes / sizeof survey_routes[0];
