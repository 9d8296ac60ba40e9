/* jsondepth.h — how deep JSON text nests, judged on the raw bytes before
 * any parser builds it.
 *
 * jansson's own limit is 2048 levels: a body of 1 MiB of "[" would make it
 * recurse that deep and allocate what is refused anyway. One pass over
 * bytes the parser reads next; brackets inside strings (escaped quotes
 * included) do not count. Pure; it does not validate the JSON otherwise.
 */
#ifndef CAREBUS_JSONDEPTH_H
#define CAREBUS_JSONDEPTH_H

#include <stdbool.h>
#include <stddef.h>

/* True when no array or object of the JSON text s[0..n) is nested deeper
 * than max_depth (the top-level value is depth 1). */
bool jsondepth_ok(const char *s, size_t n, size_t max_depth);

#endif
