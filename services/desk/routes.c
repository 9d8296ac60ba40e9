/* routes.c — the desk's route table: its pages, its sign-in, its event
 * stream and the public API's routes the page may call through it
 * (proxy.c forwards each to the same path of channel-ingest, minus "/api").
 * A route of the API not listed here cannot be reached from the desk.
 */
#include "desk.h"

#define API(m, p)                                                                                  \
    {                                                                                              \
        m, "/api" p, proxy_any, DESK_SIGNED                                                        \
    }

const struct http_route desk_routes[] = {
    {"GET", "/", pages_app, DESK_SIGNED | DESK_PAGE},
    {"GET", "/assets/:name", pages_asset, SCOPE_PUBLIC},
    {"GET", "/signin", signin_get, SCOPE_PUBLIC},
    {"POST", "/signin", signin_post, SCOPE_PUBLIC},
    {"POST", "/signout", signout_post, DESK_SIGNED},
    {"GET", "/events", stream_get, DESK_SIGNED},

    API("GET", "/v1/tickets"),
    API("GET", "/v1/tickets/:id"),
    API("GET", "/v1/tickets/:id/timeline"),
    API("POST", "/v1/tickets/:id/replies"),
    API("POST", "/v1/tickets/:id/status"),
    API("POST", "/v1/tickets/:id/transfer"),
    API("POST", "/v1/tickets/:id/assign"),
    API("PATCH", "/v1/tickets/:id"),
    API("POST", "/v1/tickets/:id/merge"),
    API("GET", "/v1/queues"),
    API("GET", "/v1/agents"),
    API("GET", "/v1/agents/:id"),
    API("PUT", "/v1/agents/:id/presence"),
    API("GET", "/v1/teams"),
    API("GET", "/v1/canned-replies"),
    API("GET", "/v1/canned-replies/:id/render"),
    API("GET", "/v1/customers"),
    API("GET", "/v1/customers/:id"),
    API("GET", "/v1/customers/:id/tickets"),
    API("POST", "/v1/customers/:id/merge"),
    API("POST", "/v1/customers/:id/unmerge"),
};

const size_t desk_routes_count = sizeof desk_routes / sizeof desk_routes[0];
