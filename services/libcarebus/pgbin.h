/* pgbin.h — an array parameter in PostgreSQL's binary format.
 *
 * A bytea[] sent in binary (the parameter's format 1) reaches the server as
 * its bytes: no hex to write here, and none for the server to lex and
 * decode (what a bytea costs inside a JSON or text parameter). The layout
 * is array_recv's: the number of dimensions, a has-nulls flag, the
 * element type's OID, each dimension's length and lower bound (1), then
 * each element as a 4-byte length (-1: NULL) and its bytes; every integer
 * big-endian. The statement casts the parameter ($3::bytea[]) so that the
 * server knows which receive function reads it.
 */
#ifndef CAREBUS_PGBIN_H
#define CAREBUS_PGBIN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Element types (catalog/pg_type.h) and their binary forms. */
#define PGBIN_BYTEA_OID 17u         /* BYTEAOID: the bytes */
#define PGBIN_TEXT_OID 25u          /* TEXTOID: the UTF-8 bytes, no NUL */
#define PGBIN_TIMESTAMPTZ_OID 1184u /* TIMESTAMPTZOID: pgbin_array_add_time */
#define PGBIN_UUID_OID 2950u        /* UUIDOID: pgbin_array_add_uuid */

typedef struct pgbin_array {
    buf *b;
    size_t flags_at; /* where the has-nulls flag is, set by a NULL element */
} pgbin_array;

/* Starts a one-dimensional array of n elements of type elem_oid in b
 * (emptied first); add exactly n elements. n = 0 is the empty array. */
void pgbin_array_begin(pgbin_array *a, buf *b, uint32_t elem_oid, size_t n);
/* Appends an element, its value in binary (len bytes at data; NULL data:
 * SQL NULL). */
void pgbin_array_add(pgbin_array *a, const void *data, size_t len);
/* A text element: s's bytes (NULL: SQL NULL). */
void pgbin_array_add_text(pgbin_array *a, const char *s);
/* A uuid element from its text form, its 16 bytes (NULL or "": SQL NULL);
 * -1, adding nothing, when s is not a uuid. */
int pgbin_array_add_uuid(pgbin_array *a, const char *s);
/* A timestamptz element: us microseconds since the Unix epoch, sent as
 * PostgreSQL's 8-byte count of microseconds since 2000-01-01 UTC. */
void pgbin_array_add_time(pgbin_array *a, int64_t us);

#endif
