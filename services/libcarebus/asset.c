/* asset.c — the embedded files of a service, answered over HTTP.
 *
 * The ETag is the first 16 bytes of the text's SHA-256, computed on each
 * answer: the assets are small and fetched once per browser and version.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "asset.h"
#include "hex.h"

const struct asset *asset_find(const struct asset *table, size_t n, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const char *asset_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".html", "text/html; charset=utf-8"},
        {".json", "application/json"},
        {".yaml", "application/yaml"},
    };
    const char *dot = name ? strrchr(name, '.') : NULL;
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "text/plain; charset=utf-8";
}

void asset_reply(http_req *r, const struct asset *table, size_t n)
{
    asset_reply_named(r, table, n, http_param(r, "name"));
}

void asset_reply_named(http_req *r, const struct asset *table, size_t n, const char *name)
{
    const struct asset *a = asset_find(table, n, name);
    if (!a) {
        http_reply_error(r, 404, "not_found", NULL, "no such file");
        return;
    }
    size_t len = strlen(a->data);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)a->data, len, md);
    char hexd[33], etag[40];
    hex_encode(md, 16, hexd);
    snprintf(etag, sizeof etag, "\"%s\"", hexd);
    http_add_header(r, "ETag", etag);
    http_add_header(r, "Cache-Control", "no-cache");
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    const char *inm = http_header(r, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        http_reply(r, 304, asset_type(a->name), "", 0);
        return;
    }
    http_reply(r, 200, asset_type(a->name), a->data, len);
}
