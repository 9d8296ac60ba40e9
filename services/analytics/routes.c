/* routes.c — analytics' route table: the API, the dashboard and its
 * sign-in; who may call each (scope.h): a read-scoped key, as a Bearer
 * header or a session (session.h), or anyone for the sign-in itself. */
#include "analytics.h"

const struct http_route analytics_routes[] = {
    {"GET", "/", dashboard_get, SCOPE_READ | SESSION_PAGE},
    {"GET", "/v1/kpis", api_kpis, SCOPE_READ},
    {"GET", SESSION_SIGNIN, signin_get, SCOPE_PUBLIC},
    {"POST", SESSION_SIGNIN, signin_post, SCOPE_PUBLIC},
    {"POST", "/signout", signout_post, SCOPE_PUBLIC},
};

const size_t analytics_routes_count = sizeof analytics_routes / sizeof analytics_routes[0];
