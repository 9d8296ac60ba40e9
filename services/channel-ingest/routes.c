/* routes.c — channel-ingest's route table: the API at a glance. */
#include "ingest.h"

const struct http_route ingest_routes[] = {
    {"POST", "/v1/messages", messages_post},
    {"GET", "/v1/events/:id", events_get},
    {"GET", "/v1/tickets/:id", tickets_get},
};

const size_t ingest_routes_count = sizeof ingest_routes / sizeof ingest_routes[0];
