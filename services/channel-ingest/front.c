/* front.c — the API's front door, public: GET / says what answers here and
 * where the rest is (the OpenAPI document, health, metrics), and
 * GET /openapi.yaml serves docs/openapi.yaml, carried in the binary
 * (assets/openapi.yaml links to it), so that an integrator's tools read
 * the document of the very version that runs. */
#include <jansson.h>

#include "ingest.h"

http_status front_get(http_req *r, void *arg)
{
    (void)arg;
    http_reply_json(r, 200,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "service", "carebus channel-ingest",
                              "api", "/v1", "openapi", "/openapi.yaml", "health", "/healthz",
                              "ready", "/readyz", "metrics", "/metrics"));
    return HTTP_DONE;
}

http_status front_openapi(http_req *r, void *arg)
{
    (void)arg;
    asset_reply_named(r, channel_ingest_assets, channel_ingest_assets_count, "openapi.yaml");
    return HTTP_DONE;
}
