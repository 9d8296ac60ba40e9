/* asset.h — files a service carries in its binary: its pages' scripts and
 * style sheets.
 *
 * A service with a folder services/<name>/assets/ gets, at build time, the
 * table <name>_assets[] of its files (deploy/scripts/embed-assets.sh, a
 * Makefile rule: no service lists its files), so that nothing a page uses
 * is fetched from elsewhere. Text files only (no NUL inside). Each answer
 * carries a strong ETag, the hash of the bytes, so a browser revalidates
 * cheaply and never runs a stale script after an upgrade.
 */
#ifndef CAREBUS_ASSET_H
#define CAREBUS_ASSET_H

#include <stddef.h>

#include "http.h"

struct asset {
    const char *name; /* "desk.js": the file's name, no folder */
    const char *data; /* its text, NUL-terminated */
};

/* The asset called name in the table, or NULL. */
const struct asset *asset_find(const struct asset *table, size_t n, const char *name);

/* The Content-Type for a file name by its extension (.js, .css, .svg,
 * .html, .json, .yaml; anything else is text/plain). */
const char *asset_type(const char *name);

/* Answers r with the asset named by the route's ":name" parameter: 200
 * with its type, ETag (revalidated on every use), 304 when If-None-Match names
 * its ETag, 404 otherwise. */
void asset_reply(http_req *r, const struct asset *table, size_t n);
/* The same for the asset called name (a route without ":name"). */
void asset_reply_named(http_req *r, const struct asset *table, size_t n, const char *name);

#endif
