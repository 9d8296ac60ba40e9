/* routes.c — analytics' route table: the API and the dashboard. */
#include "analytics.h"
#include "scope.h"

/* XXX: open to anyone, as they were; keys and sessions come next. */
const struct http_route analytics_routes[] = {
    {"GET", "/", dashboard_get, SCOPE_PUBLIC},
    {"GET", "/v1/kpis", api_kpis, SCOPE_PUBLIC},
};

const size_t analytics_routes_count = sizeof analytics_routes / sizeof analytics_routes[0];
