/* signin.c — GET/POST /signin and POST /signout: an agent signs in to the
 * desk with their id or e-mail and the password saved through the work API.
 *
 * Through the public API only: a worker posts the credentials to
 * channel-ingest's POST /v1/sessions, which checks the password and
 * answers an API key bound to the agent (scopes by role, expiring),
 * accepted from then on; the session cookie carries it (sessions.h).
 * Signing out revokes the key (DELETE /v1/sessions/current, on a worker)
 * before answering, then clears the cookie: a copy of it is refused from
 * then on by every desk instance, since each asks the API. Should the API
 * not answer, the sign-out says so (503) rather than clear a cookie whose
 * key would still stand. Forms must come from the desk's own origin;
 * sign-out needs the session's CSRF token. The password is never logged
 * and is wiped once sent. Sign-ins are bounded (SIGNINS_MAX at once) and
 * channel-ingest's lockout is told as such (429).
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "form.h"
#include "html.h"
#include "log.h"
#include "password.h"
#include "session.h"
#include "timeutil.h"
#include "upstream.h"

#define LOGIN_MAX 256
#define NEXT_MAX 512
/* Sign-ins checked at once; more wait (503, Retry-After): each holds a
 * worker while channel-ingest runs scrypt, and a flood must not starve the
 * API's calls. */
#define SIGNINS_MAX 4

enum outcome { SIGNIN_OK, SIGNIN_BAD, SIGNIN_LOCKED, SIGNIN_UNAVAILABLE };

struct signin_job {
    struct pool_job j;
    desk *d;
    http_req *r;
    char login[LOGIN_MAX];
    char *password;
    size_t plen;
    char lang[3];
    char next[NEXT_MAX];
    enum outcome outcome;
    long retry_after;     /* SIGNIN_LOCKED: channel-ingest's Retry-After */
    char key[APIKEY_LEN]; /* SIGNIN_OK: the session's key, who it is, */
    struct desk_agent who;
    int64_t expires_us; /* and when the key expires (0: unknown) */
};

struct signout_job {
    struct pool_job j;
    desk *d;
    http_req *r;
    char key[APIKEY_LEN];
    bool revoked;
};

enum {
    L_TITLE,
    L_HELP,
    L_LOGIN,
    L_PASSWORD,
    L_SUBMIT,
    L_BAD,
    L_LOCKED,
    L_UNAVAILABLE,
    L_ORIGIN,
    L_SIGNED_OUT,
    L_COUNT
};

static const char *const labels[2][L_COUNT] = {
    {"Đăng nhập bàn làm việc", "Dùng mã nhân viên hoặc email và mật khẩu của bạn.",
     "Mã nhân viên hoặc email", "Mật khẩu", "Đăng nhập", "Sai thông tin đăng nhập.",
     "Đăng nhập sai quá nhiều lần liên tiếp; vui lòng thử lại sau ít phút.",
     "Hệ thống đang bận, vui lòng thử lại sau giây lát.", "Biểu mẫu không đến từ trang này.",
     "Bạn đã đăng xuất."},
    {"Sign in to the desk", "Use your agent id or e-mail and your password.", "Agent id or e-mail",
     "Password", "Sign in", "Wrong credentials.",
     "Too many failed sign-ins in a row; try again in a few minutes.",
     "The desk is busy; try again in a moment.", "The form did not come from this page.",
     "You are signed out."},
};

/* A path of the desk: "/", "/?t=..." — not "//host" or "/\host". */
static bool next_ok(const char *next)
{
    size_t n = next ? strlen(next) : 0;
    if (n == 0 || n >= NEXT_MAX || next[0] != '/' || next[1] == '/' || next[1] == '\\')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)next[i] < 0x21 || next[i] == 0x7f || next[i] == '\\')
            return false;
    return true;
}

static void signin_page(http_req *r, unsigned status, const char *lang, const char *next,
                        const char *error, const char *ok)
{
    const char *const *L = labels[strcmp(lang, "en") == 0];
    if (!next_ok(next))
        next = "/";
    buf b = BUF_INIT;
    buf_printf(&b,
               "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" "
               "href=\"/assets/desk.css\"><title>",
               lang);
    html_escape(&b, L[L_TITLE]);
    buf_puts(&b, " · carebus</title></head><body class=\"signin\"><main class=\"signin-box\">"
                 "<h1>carebus</h1><nav class=\"langs\" aria-label=\"Language / Ngôn ngữ\">"
                 "<a href=\"/signin?lang=vi\" hreflang=\"vi\" lang=\"vi\">Tiếng Việt</a> "
                 "<a href=\"/signin?lang=en\" hreflang=\"en\" lang=\"en\">English</a></nav>");
    if (error) {
        buf_puts(&b, "<p class=\"error\" role=\"alert\">");
        html_escape(&b, error);
        buf_puts(&b, "</p>");
    } else if (ok) {
        buf_puts(&b, "<p class=\"ok\" role=\"status\">");
        html_escape(&b, ok);
        buf_puts(&b, "</p>");
    }
    buf_puts(&b, "<form method=\"post\" action=\"/signin\" class=\"stack\"><h2>");
    html_escape(&b, L[L_TITLE]);
    buf_puts(&b, "</h2><p class=\"note\">");
    html_escape(&b, L[L_HELP]);
    buf_puts(&b, "</p><label for=\"login\">");
    html_escape(&b, L[L_LOGIN]);
    buf_puts(&b, "</label><input id=\"login\" name=\"login\" autocomplete=\"username\" "
                 "spellcheck=\"false\" required autofocus><label for=\"password\">");
    html_escape(&b, L[L_PASSWORD]);
    buf_puts(&b, "</label><input id=\"password\" type=\"password\" name=\"password\" "
                 "autocomplete=\"current-password\" required>"
                 "<input type=\"hidden\" name=\"next\" value=\"");
    html_escape(&b, next);
    buf_printf(&b, "\"><input type=\"hidden\" name=\"lang\" value=\"%s\"><button type=\"submit\">",
               lang);
    html_escape(&b, L[L_SUBMIT]);
    buf_puts(&b, "</button></form></main></body></html>");
    desk_page_headers(r);
    if (b.failed)
        http_reply_error(r, 500, "internal", NULL, "could not build the page");
    else
        http_reply(r, status, "text/html; charset=utf-8", buf_str(&b), b.len);
    buf_release(&b);
}

http_status signin_get(http_req *r, void *arg)
{
    (void)arg;
    const char *lang = desk_lang(r);
    const char *out = http_query(r, "signed_out");
    signin_page(r, 200, lang, http_query(r, "next"), NULL,
                out ? labels[strcmp(lang, "en") == 0][L_SIGNED_OUT] : NULL);
    return HTTP_DONE;
}

/* --- the check, on a worker ------------------------------------------------ */

/* The key, agent and expiry of POST /v1/sessions' answer. */
static bool session_fill(struct signin_job *s, const json_t *j)
{
    const char *key = json_string_value(json_object_get(j, "key"));
    const char *expires = json_string_value(json_object_get(j, "expires_at"));
    if (!key || strlen(key) >= sizeof s->key ||
        !sessions_agent_read(json_object_get(j, "agent"), &s->who))
        return false;
    snprintf(s->key, sizeof s->key, "%s", key);
    if (!expires || time_parse_rfc3339(expires, &s->expires_us) != 0)
        s->expires_us = 0;
    return true;
}

/* POST /v1/sessions: channel-ingest checks the password and makes the
 * session's key (bound to the agent, expiring, accepted once answered). */
static enum outcome check(struct signin_job *s, struct desk_worker *w)
{
    if (!w)
        return SIGNIN_UNAVAILABLE;
    json_t *req = json_object();
    if (!req || json_object_set_new(req, "agent", json_string(s->login)) != 0 ||
        json_object_set_new(req, "password", json_stringn(s->password, s->plen)) != 0) {
        json_decref(req);
        return SIGNIN_UNAVAILABLE;
    }
    char *body = json_dumps(req, JSON_COMPACT);
    /* jansson's copy of the password. */
    json_t *pw = json_object_get(req, "password");
    if (pw)
        OPENSSL_cleanse((char *)json_string_value(pw), json_string_length(pw));
    json_decref(req);
    if (!body)
        return SIGNIN_UNAVAILABLE;
    size_t blen = strlen(body);
    struct upstream_answer a = {.body = BUF_INIT};
    int rc = upstream_call(w->curl, s->d->pool, s->d->api_url, NULL, "POST", "/v1/sessions", body,
                           blen, 30, &a);
    OPENSSL_cleanse(body, blen);
    free(body);
    enum outcome out = SIGNIN_UNAVAILABLE;
    if (rc == 0 && (a.status == 401 || a.status == 400)) {
        out = SIGNIN_BAD;
    } else if (rc == 0 && a.status == 429) {
        /* POST /v1/sessions takes no key, so no key's rate limit: its 429
         * is the login's lockout. */
        out = SIGNIN_LOCKED;
        s->retry_after = a.retry_after ? a.retry_after : 60;
    } else if (rc == 0 && a.status == 201) {
        json_t *j = json_loadb(buf_str(&a.body), a.body.len, 0, NULL);
        if (j && session_fill(s, j))
            out = SIGNIN_OK;
        else
            log_error("desk: POST /v1/sessions answered what the desk cannot read");
        json_decref(j);
    } else if (rc == 0 && a.status != 503) {
        log_error("desk: POST /v1/sessions answered %ld", a.status);
    }
    if (a.body.len)
        OPENSSL_cleanse(a.body.data, a.body.len);
    buf_release(&a.body);
    return out;
}

static void signin_work(struct pool_job *j, void *state)
{
    struct signin_job *s = (struct signin_job *)j;
    s->outcome = check(s, state);
    OPENSSL_cleanse(s->password, s->plen);
}

static void signin_job_free(struct signin_job *s)
{
    if (s->password) {
        OPENSSL_cleanse(s->password, s->plen);
        free(s->password);
    }
    OPENSSL_cleanse(s->key, sizeof s->key);
    free(s);
}

static void signin_done(struct pool_job *j, bool cancelled)
{
    struct signin_job *s = (struct signin_job *)j;
    s->d->signing_in--;
    const char *const *L = labels[strcmp(s->lang, "en") == 0];
    if (cancelled || s->outcome == SIGNIN_UNAVAILABLE) {
        http_add_header(s->r, "Retry-After", "1");
        signin_page(s->r, 503, s->lang, s->next, L[L_UNAVAILABLE], NULL);
    } else if (s->outcome == SIGNIN_BAD) {
        log_info("POST /signin: 401: wrong credentials");
        signin_page(s->r, 401, s->lang, s->next, L[L_BAD], NULL);
    } else if (s->outcome == SIGNIN_LOCKED) {
        char after[24];
        snprintf(after, sizeof after, "%ld", s->retry_after);
        log_info("POST /signin: 429: the login is locked out for %s s", after);
        http_add_header(s->r, "Retry-After", after);
        signin_page(s->r, 429, s->lang, s->next, L[L_LOCKED], NULL);
    } else {
        char lc[64];
        snprintf(lc, sizeof lc, "desk_lang=%s; Path=/; SameSite=Strict", s->lang);
        http_add_header(s->r, "Set-Cookie", lc);
        if (sessions_set_cookie(s->d->sessions, s->r, s->key, s->expires_us) != 0) {
            log_error("POST /signin: agent %s: the session's key could not be sealed", s->who.id);
            http_reply_error(s->r, 500, "internal", NULL, "could not seal the session");
            signin_job_free(s);
            return;
        }
        log_info("agent %s signed in to the desk", s->who.id);
        sessions_remember(s->d->sessions, s->key, &s->who);
        http_add_header(s->r, "Location", next_ok(s->next) ? s->next : "/");
        http_add_header(s->r, "Cache-Control", "no-store");
        http_reply(s->r, 303, "text/plain; charset=utf-8", "signed in\n", 10);
    }
    signin_job_free(s);
}

http_status signin_post(http_req *r, void *arg)
{
    desk *d = arg;
    struct form f = {0};
    if (session_form(r, &f) != 0)
        return HTTP_DONE;
    const char *l = form_get(&f, "lang");
    const char *lang = l ? (strcmp(l, "en") == 0 ? "en" : "vi") : desk_lang(r);
    const char *const *L = labels[strcmp(lang, "en") == 0];
    const char *login = form_get(&f, "login"), *password = form_get(&f, "password");
    const char *next = form_get(&f, "next");
    http_status st = HTTP_DONE;
    if (!session_same_origin(r)) {
        log_info("POST /signin: 403: the form came from another origin");
        signin_page(r, 403, lang, next, L[L_ORIGIN], NULL);
        goto out;
    }
    size_t plen = password ? strlen(password) : 0;
    if (!login || !*login || strlen(login) >= LOGIN_MAX || plen == 0 || plen > PASSWORD_MAX) {
        signin_page(r, 401, lang, next, L[L_BAD], NULL);
        goto out;
    }
    if (d->signing_in >= SIGNINS_MAX) {
        http_add_header(r, "Retry-After", "1");
        signin_page(r, 503, lang, next, L[L_UNAVAILABLE], NULL);
        goto out;
    }
    struct signin_job *s = calloc(1, sizeof *s);
    if (!s || !(s->password = malloc(plen + 1))) {
        free(s);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        goto out;
    }
    memcpy(s->password, password, plen + 1);
    s->plen = plen;
    s->j.work = signin_work;
    s->j.done = signin_done;
    s->d = d;
    s->r = r;
    snprintf(s->login, sizeof s->login, "%s", login);
    snprintf(s->lang, sizeof s->lang, "%s", lang);
    snprintf(s->next, sizeof s->next, "%s", next_ok(next) ? next : "/");
    if (pool_submit(d->pool, &s->j) != 0) {
        signin_job_free(s);
        http_add_header(r, "Retry-After", "1");
        signin_page(r, 503, lang, next, L[L_UNAVAILABLE], NULL);
        goto out;
    }
    d->signing_in++;
    st = HTTP_SUSPENDED;
out:
    /* The form's copy of the password. */
    if (password)
        OPENSSL_cleanse((char *)password, strlen(password));
    form_release(&f);
    return st;
}

/* --- sign-out ---------------------------------------------------------------- */

/* DELETE /v1/sessions/current with the session's key: the key revokes
 * itself, refused from the answer on. One already refused (expired,
 * revoked by another sign-out) answers 401: signed out all the same. */
static void signout_work(struct pool_job *j, void *state)
{
    struct signout_job *k = (struct signout_job *)j;
    struct desk_worker *w = state;
    /* A few tries: a key left standing would outlive the sign-out. */
    for (int i = 0; i < 3 && w && !pool_stopping(k->d->pool); i++) {
        if (i)
            usleep(200000);
        struct upstream_answer a = {.body = BUF_INIT};
        int rc = upstream_call(w->curl, k->d->pool, k->d->api_url, k->key, "DELETE",
                               "/v1/sessions/current", NULL, 0, 10, &a);
        buf_release(&a.body);
        if (rc == 0 && (a.status == 204 || a.status == 401 || a.status == 404)) {
            k->revoked = true;
            return;
        }
    }
}

static void signout_done(struct pool_job *j, bool cancelled)
{
    struct signout_job *k = (struct signout_job *)j;
    struct desk_agent who = {.id = "?"};
    sessions_cached(k->d->sessions, k->key, &who); /* for the log only */
    sessions_forget(k->d->sessions, k->key);
    if (cancelled || !k->revoked) {
        log_warn("POST /signout: 503: the API did not revoke the session's key");
        http_add_header(k->r, "Retry-After", "2");
        http_reply_error(k->r, 503, "unavailable", NULL,
                         "could not sign out: the API did not answer; try again");
    } else {
        log_info("agent %s signed out of the desk", who.id);
        sessions_clear_cookie(k->r);
        char where[64];
        snprintf(where, sizeof where, "/signin?signed_out=1&lang=%s", desk_lang(k->r));
        http_add_header(k->r, "Location", where);
        http_add_header(k->r, "Cache-Control", "no-store");
        http_reply(k->r, 303, "text/plain; charset=utf-8", "signed out\n", 11);
    }
    OPENSSL_cleanse(k->key, sizeof k->key);
    free(k);
}

http_status signout_post(http_req *r, void *arg)
{
    desk *d = arg;
    struct form f = {0};
    if (session_form(r, &f) != 0)
        return HTTP_DONE;
    char key[APIKEY_LEN];
    bool signed_in = desk_key(d, r, key);
    const char *token = form_get(&f, "csrf");
    if (!token)
        token = http_header(r, "X-CSRF-Token");
    if (!signed_in || !session_same_origin(r) || !sessions_csrf_ok(key, token)) {
        OPENSSL_cleanse(key, sizeof key);
        log_info("POST /signout: 403: no valid CSRF token or another origin");
        http_reply_error(r, 403, "forbidden", NULL, "missing or wrong CSRF token");
        form_release(&f);
        return HTTP_DONE;
    }
    form_release(&f);
    struct signout_job *k = calloc(1, sizeof *k);
    if (!k) {
        OPENSSL_cleanse(key, sizeof key);
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return HTTP_DONE;
    }
    k->j.work = signout_work;
    k->j.done = signout_done;
    k->d = d;
    k->r = r;
    snprintf(k->key, sizeof k->key, "%s", key);
    OPENSSL_cleanse(key, sizeof key);
    if (pool_submit(d->pool, &k->j) != 0) {
        OPENSSL_cleanse(k->key, sizeof k->key);
        free(k);
        http_reply_error(r, 503, "unavailable", NULL, "the desk is shutting down");
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}
