/* jw.h — a small JSON writer into a buf, for the router's set-based SQL.
 *
 * The router hands PostgreSQL a batch of rows as one JSON array
 * (jsonb_to_recordset), which is simpler to build and to read than a dozen
 * parallel array literals. Strings are escaped per RFC 8259; the caller
 * writes objects, keys and values in order, and the writer places commas.
 */
#ifndef CAREBUS_ROUTER_JW_H
#define CAREBUS_ROUTER_JW_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/* Times equal to JW_NULL_TIME are written as null. */
#define JW_NULL_TIME INT64_MIN

typedef struct jw {
    buf b;
    bool first; /* no element yet at the current level */
} jw;

void jw_init(jw *w);
void jw_release(jw *w);
/* The text (borrowed), or NULL when an allocation failed. */
const char *jw_text(jw *w);

void jw_array_begin(jw *w);
void jw_array_end(jw *w);
void jw_object_begin(jw *w);
void jw_object_end(jw *w);
void jw_key(jw *w, const char *key);

void jw_str(jw *w, const char *s); /* NULL: null */
void jw_int(jw *w, long long v);
void jw_bool(jw *w, bool v);
void jw_time(jw *w, int64_t us);      /* RFC 3339, or null */
void jw_raw(jw *w, const char *json); /* already JSON; NULL: null */

/* Shorthands: a key and its value. */
void jw_kstr(jw *w, const char *key, const char *s);
void jw_kint(jw *w, const char *key, long long v);
void jw_ktime(jw *w, const char *key, int64_t us);
void jw_kraw(jw *w, const char *key, const char *json);

/* Appends s escaped as a JSON string (with its quotes) to b. */
void jw_escape(buf *b, const char *s);

#endif
