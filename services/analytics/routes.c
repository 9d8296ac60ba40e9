/* routes.c — analytics' route table: the API and the dashboard. */
#include "analytics.h"

const struct http_route analytics_routes[] = {
    {"GET", "/", dashboard_get},
    {"GET", "/v1/kpis", api_kpis},
};

const size_t analytics_routes_count = sizeof analytics_routes / sizeof analytics_routes[0];
