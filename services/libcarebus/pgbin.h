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

#define PGBIN_BYTEA_OID 17u /* catalog/pg_type.h: BYTEAOID */

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

#endif
