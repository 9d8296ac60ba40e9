/* signin.c — GET/POST /signin and POST /signout: a person opens the
 * dashboard with an API key.
 *
 *   /signin?next=/%3Ffrom%3D2026-11-01&lang=en
 *
 * The page asks for a key with the read scope; a good one gets a session
 * cookie (session.h: signed, bound to the key's id, ended by revoking the
 * key) and is sent on to `next`, a path of this service only (never
 * "//host" or a URL: no open redirect). The key is read from the form's
 * body and never logged or echoed. Sign-out is a POST carrying the
 * session's CSRF token; both forms must come from the page's own origin.
 * Same style, languages and Content-Security-Policy as the dashboard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "buf.h"
#include "dashboard.h"
#include "form.h"
#include "html.h"
#include "log.h"
#include "url.h"

#define NEXT_MAX 1024

/* A path of this service: "/", "/?from=..." — not "//host", "/\host". */
static bool next_ok(const char *next)
{
    size_t n = next ? strlen(next) : 0;
    if (n == 0 || n > NEXT_MAX || next[0] != '/' || next[1] == '/' || next[1] == '\\')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)next[i] < 0x21 || next[i] == 0x7f || next[i] == '\\')
            return false;
    return true;
}

static const char *lang_code(enum dash_lang lang)
{
    return lang == LANG_EN ? "en" : "vi";
}

/* The sign-in page, with a message: error (role=alert) or ok (a note). */
static void signin_page(http_req *r, unsigned status, enum dash_lang lang, const char *next,
                        const char *error, const char *ok)
{
    const char *const *L = dashboard_labels[lang];
    if (!next_ok(next))
        next = "/";
    char enc[3 * NEXT_MAX + 1];
    url_encode(enc, next);
    buf b = BUF_INIT;
    buf_printf(&b,
               "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<link rel=\"icon\" href=\"data:,\"><title>",
               lang_code(lang));
    html_escape(&b, L[L_SIGNIN_TITLE]);
    buf_printf(&b, "</title><style>%s</style></head><body><header><div><h1>", dashboard_css);
    html_escape(&b, L[L_TITLE]);
    buf_puts(&b, "</h1><p>");
    html_escape(&b, L[L_SUBTITLE]);
    buf_printf(&b,
               "</p></div><nav><a href=\"%s?next=%s&amp;lang=vi\" hreflang=\"vi\">Tiếng Việt</a>"
               "<a href=\"%s?next=%s&amp;lang=en\" hreflang=\"en\">English</a></nav></header>"
               "<main class=\"narrow\">",
               SESSION_SIGNIN, enc, SESSION_SIGNIN, enc);
    if (error) {
        buf_puts(&b, "<p class=\"error\" role=\"alert\">");
        html_escape(&b, error);
        buf_puts(&b, "</p>");
    } else if (ok) {
        buf_puts(&b, "<p class=\"ok\" role=\"status\">");
        html_escape(&b, ok);
        buf_puts(&b, "</p>");
    }
    buf_printf(&b, "<form method=\"post\" action=\"%s\" class=\"stack\"><h2>", SESSION_SIGNIN);
    html_escape(&b, L[L_SIGNIN_TITLE]);
    buf_puts(&b, "</h2><p class=\"note\">");
    html_escape(&b, L[L_SIGNIN_HELP]);
    buf_puts(&b, "</p><label>");
    html_escape(&b, L[L_KEY]);
    buf_puts(&b, "<input type=\"password\" name=\"key\" autocomplete=\"off\" spellcheck=\"false\" "
                 "required autofocus></label><input type=\"hidden\" name=\"next\" value=\"");
    html_escape(&b, next);
    buf_printf(&b, "\"><input type=\"hidden\" name=\"lang\" value=\"%s\"><button type=\"submit\">",
               lang_code(lang));
    html_escape(&b, L[L_SIGNIN]);
    buf_puts(&b, "</button></form></main><footer>carebus</footer></body></html>");
    dashboard_headers(r, lang);
    if (b.failed)
        http_reply_error(r, 500, "internal", NULL, "could not build the page");
    else
        http_reply(r, status, "text/html; charset=utf-8", buf_str(&b), b.len);
    buf_release(&b);
}

static enum dash_lang form_lang(const struct form *f, http_req *r)
{
    const char *l = form_get(f, "lang");
    if (l)
        return strcmp(l, "en") == 0 ? LANG_EN : LANG_VI;
    return dashboard_lang(r);
}

/* The page's language: ?lang=, else the one the page it guards was asked
 * in (next's lang=), else the browser's. */
static enum dash_lang signin_lang(http_req *r, const char *next)
{
    const char *q = next && !http_query(r, "lang") ? strchr(next, '?') : NULL;
    for (const char *p = q; p && *p; p = strchr(p + 1, '&'))
        if (strncmp(p + 1, "lang=", 5) == 0)
            return strncmp(p + 6, "en", 2) == 0 ? LANG_EN : LANG_VI;
    return dashboard_lang(r);
}

http_status signin_get(http_req *r, void *arg)
{
    (void)arg;
    const char *next = http_query(r, "next");
    enum dash_lang lang = signin_lang(r, next);
    const char *out = http_query(r, "signed_out");
    signin_page(r, 200, lang, next, NULL, out ? dashboard_labels[lang][L_SIGNED_OUT] : NULL);
    return HTTP_DONE;
}

http_status signin_post(http_req *r, void *arg)
{
    analytics *a = arg;
    struct form f = {0};
    if (session_form(r, &f) != 0)
        return HTTP_DONE;
    enum dash_lang lang = form_lang(&f, r);
    const char *next = form_get(&f, "next");
    const char *const *L = dashboard_labels[lang];
    const char *key = form_get(&f, "key");
    if (!session_same_origin(r)) {
        auth_tally(a->auth, "forbidden", 0);
        log_info("POST %s: 403: the form came from another origin", SESSION_SIGNIN);
        signin_page(r, 403, lang, next, L[L_BAD_ORIGIN], NULL);
        goto out;
    }
    /* Pasted keys often carry a blank or a newline at either end. */
    while (key && (*key == ' ' || *key == '\t' || *key == '\r' || *key == '\n'))
        key++;
    size_t klen = key ? strlen(key) : 0;
    while (klen && (key[klen - 1] == ' ' || key[klen - 1] == '\t' || key[klen - 1] == '\r' ||
                    key[klen - 1] == '\n'))
        klen--;
    const struct auth_key *k = klen ? auth_lookup(a->auth, key, klen) : NULL;
    if (!k) {
        auth_tally(a->auth, "unauthorized", 0);
        log_info("POST %s: 401: not a valid API key", SESSION_SIGNIN);
        signin_page(r, 401, lang, next, L[L_BAD_KEY], NULL);
        goto out;
    }
    struct access_denial d;
    if (!access_decide(&k->grant, SCOPE_READ, NULL, &d)) {
        auth_tally(a->auth, "forbidden", SCOPE_READ);
        log_info("POST %s: 403: key %s: %s", SESSION_SIGNIN, k->grant.id, d.message);
        signin_page(r, 403, lang, next, L[L_NO_READ], NULL);
        goto out;
    }
    if (session_set_cookie(a->sess, r, k->grant.id) != 0) {
        http_add_header(r, "Retry-After", "1");
        http_reply_error(r, 503, "unavailable", NULL, "sessions are not ready; retry in a moment");
        goto out;
    }
    log_info("key %s signed in to the dashboard", k->grant.id);
    char where[NEXT_MAX + 16];
    if (next_ok(next))
        snprintf(where, sizeof where, "%s", next);
    else
        snprintf(where, sizeof where, "/?lang=%s", lang_code(lang));
    http_add_header(r, "Location", where);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply(r, 303, "text/plain; charset=utf-8", "signed in\n", 10);
out:
    form_release(&f);
    return HTTP_DONE;
}

http_status signout_post(http_req *r, void *arg)
{
    analytics *a = arg;
    struct form f = {0};
    if (session_form(r, &f) != 0)
        return HTTP_DONE;
    enum dash_lang lang = form_lang(&f, r);
    const char *cookie = http_cookie(r, SESSION_COOKIE);
    if (cookie &&
        (!session_same_origin(r) || !session_csrf_ok(a->sess, cookie, form_get(&f, "csrf")))) {
        /* Not this page's own form: the session stays. */
        auth_tally(a->auth, "forbidden", 0);
        log_info("POST /signout: 403: no valid CSRF token or another origin");
        signin_page(r, 403, lang, "/", dashboard_labels[lang][L_BAD_ORIGIN], NULL);
        form_release(&f);
        return HTTP_DONE;
    }
    char where[64];
    snprintf(where, sizeof where, "%s?signed_out=1&lang=%s", SESSION_SIGNIN, lang_code(lang));
    if (cookie)
        session_clear_cookie(r);
    http_add_header(r, "Location", where);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply(r, 303, "text/plain; charset=utf-8", "signed out\n", 11);
    form_release(&f);
    return HTTP_DONE;
}

bool signin_csrf(analytics *a, http_req *r, char out[SESSION_CSRF_LEN])
{
    const char *cookie = http_cookie(r, SESSION_COOKIE);
    return !http_header(r, "Authorization") && cookie && session_csrf(a->sess, cookie, out) == 0;
}
