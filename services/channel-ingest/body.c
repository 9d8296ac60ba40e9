/* body.c — content type, depth and syntax of request bodies.
 *
 * The depth is checked on the raw bytes first (jsondepth.h) so that jansson
 * never builds what we refuse. Invalid UTF-8 is told apart from other
 * syntax errors by jansson's error code, so that check costs nothing extra.
 */
#include "body.h"

#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "jsondepth.h"

bool body_type_is(const char *header, const char *type)
{
    if (!header)
        return false;
    header += strspn(header, " \t");
    size_t n = strcspn(header, ";");
    while (n && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    return n == strlen(type) && strncasecmp(header, type, n) == 0;
}

bool body_expect_json(http_req *r)
{
    const char *ct = http_header(r, "Content-Type");
    if (body_type_is(ct, BODY_JSON))
        return true;
    ingest_reject(r, 415, "unsupported_media_type", "unsupported_media_type", NULL,
                  "expected Content-Type \"" BODY_JSON "\", got \"%.100s\"", ct ? ct : "");
    return false;
}

json_t *body_load_json(http_req *r, size_t max_depth)
{
    size_t len;
    const char *body = http_body(r, &len);
    if (!jsondepth_ok(body, len, max_depth)) {
        ingest_reject(r, 400, "too_deep", "too_deep", NULL,
                      "the body is nested deeper than %zu levels", max_depth);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root)
        return root;
    if (json_error_code(&jerr) == json_error_invalid_utf8)
        ingest_reject(r, 400, "invalid_utf8", "invalid_utf8", NULL,
                      "the body is not valid UTF-8 (at byte %d)", jerr.position);
    else
        ingest_reject(r, 400, "invalid_json", "invalid_json", NULL,
                      "could not parse the body: %s (at %d:%d)", jerr.text, jerr.line, jerr.column);
    return NULL;
}
