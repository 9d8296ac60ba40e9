/* pages.c — GET / (the desk's one page) and GET /assets/<name>.
 *
 * The page is a shell: the script (assets/desk.js) draws the inbox, the
 * ticket, the customer and the supervisor's view from the API. The shell
 * carries what the script needs about the session — the agent, their role
 * and teams, the language and the CSRF token for writes — in data
 * attributes (escaped), never the API key, which stays in the desk.
 */
#include <string.h>

#include "desk.h"
#include "html.h"

http_status pages_app(http_req *r, void *arg)
{
    desk *d = arg;
    const struct desk_session *s = desk_session(d, r);
    const char *lang = desk_lang(r);
    buf b = BUF_INIT;
    buf_printf(&b,
               "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" "
               "href=\"/assets/desk.css\"><title>carebus</title></head><body>"
               "<div id=\"app\" data-lang=\"%s\" data-agent=\"",
               lang, lang);
    html_escape(&b, s->agent_id);
    buf_puts(&b, "\" data-name=\"");
    html_escape(&b, s->name);
    buf_puts(&b, "\" data-role=\"");
    html_escape(&b, s->role);
    buf_puts(&b, "\" data-teams=\"");
    html_escape(&b, s->teams);
    buf_puts(&b, "\" data-csrf=\"");
    html_escape(&b, s->csrf);
    buf_printf(&b, "\" data-dashboard-port=\"%d\"></div><noscript>", d->dashboard_port);
    buf_puts(&b, "JavaScript is needed / Cần bật JavaScript.</noscript>"
                 "<script src=\"/assets/desk.js\"></script></body></html>");
    desk_page_headers(r);
    if (b.failed)
        http_reply_error(r, 500, "internal", NULL, "could not build the page");
    else
        http_reply(r, 200, "text/html; charset=utf-8", buf_str(&b), b.len);
    buf_release(&b);
    return HTTP_DONE;
}

http_status pages_asset(http_req *r, void *arg)
{
    (void)arg;
    asset_reply(r, desk_assets, desk_assets_count);
    return HTTP_DONE;
}
