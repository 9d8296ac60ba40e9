/* pages.c — GET / (the desk's one page) and GET /assets/<name>.
 *
 * The page is a shell: the script (assets/desk.js) draws the inbox, the
 * ticket, the customer and the supervisor's view from the API. The shell
 * carries what the script needs about the session — the agent, their role
 * and teams, the language and the CSRF token for writes — in data
 * attributes (escaped), never the API key, which stays in the HttpOnly
 * cookie. Who the agent is, a worker asks the API each time the page is
 * served (GET /v1/sessions/current with the cookie's key): a key refused
 * there (expired, revoked on any desk instance) sends the browser to sign
 * in, and the answer refreshes the copy proxy.c's scope check uses.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"
#include "html.h"

struct page_job {
    struct pool_job j;
    desk *d;
    http_req *r;
    char key[APIKEY_LEN];
    int rc; /* sessions_fetch's */
    struct desk_agent a;
};

static void page_render(desk *d, http_req *r, const char *key, const struct desk_agent *a)
{
    const char *lang = desk_lang(r);
    char csrf[DESK_CSRF_LEN];
    sessions_csrf(key, csrf);
    buf b = BUF_INIT;
    buf_printf(&b,
               "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" "
               "href=\"/assets/desk.css\"><title>carebus</title></head><body>"
               "<div id=\"app\" data-lang=\"%s\" data-agent=\"",
               lang, lang);
    html_escape(&b, a->id);
    buf_puts(&b, "\" data-name=\"");
    html_escape(&b, a->name);
    buf_puts(&b, "\" data-role=\"");
    html_escape(&b, a->role);
    buf_puts(&b, "\" data-teams=\"");
    html_escape(&b, a->teams);
    buf_puts(&b, "\" data-csrf=\"");
    html_escape(&b, csrf);
    buf_printf(&b, "\" data-dashboard-port=\"%d\"></div><noscript>", d->dashboard_port);
    buf_puts(&b, "JavaScript is needed / Cần bật JavaScript.</noscript>"
                 "<script src=\"/assets/desk.js\"></script></body></html>");
    desk_page_headers(r);
    if (b.failed)
        http_reply_error(r, 500, "internal", NULL, "could not build the page");
    else
        http_reply(r, 200, "text/html; charset=utf-8", buf_str(&b), b.len);
    buf_release(&b);
}

static void page_work(struct pool_job *j, void *state)
{
    struct page_job *p = (struct page_job *)j;
    struct desk_worker *w = state;
    p->rc = sessions_fetch(w ? w->curl : NULL, p->d->pool, p->d->api_url, p->key, &p->a);
}

static void page_done(struct pool_job *j, bool cancelled)
{
    struct page_job *p = (struct page_job *)j;
    if (cancelled || p->rc < 0) {
        http_add_header(p->r, "Retry-After", "2");
        http_reply_error(p->r, 503, "unavailable", NULL, "the API did not answer");
    } else if (p->rc > 0) {
        sessions_forget(p->d->sessions, p->key);
        desk_signed_out(p->r, true);
    } else {
        sessions_remember(p->d->sessions, p->key, &p->a);
        page_render(p->d, p->r, p->key, &p->a);
    }
    OPENSSL_cleanse(p->key, sizeof p->key);
    free(p);
}

http_status pages_app(http_req *r, void *arg)
{
    desk *d = arg;
    struct page_job *p = calloc(1, sizeof *p);
    if (!p) {
        http_reply_error(r, 500, "internal", NULL, "out of memory");
        return HTTP_DONE;
    }
    p->j.work = page_work;
    p->j.done = page_done;
    p->d = d;
    p->r = r;
    if (!desk_key(d, r, p->key)) { /* the guard opened it: never */
        free(p);
        desk_signed_out(r, true);
        return HTTP_DONE;
    }
    if (pool_submit(d->pool, &p->j) != 0) {
        OPENSSL_cleanse(p->key, sizeof p->key);
        free(p);
        http_reply_error(r, 503, "unavailable", NULL, "the desk is shutting down");
        return HTTP_DONE;
    }
    return HTTP_SUSPENDED;
}

http_status pages_asset(http_req *r, void *arg)
{
    (void)arg;
    asset_reply(r, desk_assets, desk_assets_count);
    return HTTP_DONE;
}
