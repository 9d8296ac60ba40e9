/* pgbin.c — an array parameter in PostgreSQL's binary format (see pgbin.h).
 *
 * The header is written once with the element count the caller gives; the
 * has-nulls flag is patched in place by the first NULL element, so the
 * elements are written in one pass. buf's failed flag carries an
 * allocation failure to the caller, as for every buf.
 */
#include "pgbin.h"

#include <assert.h>
#include <string.h>
#include <uuid/uuid.h>

static void put_u32(buf *b, uint32_t v)
{
    unsigned char p[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    buf_append(b, p, sizeof p);
}

void pgbin_array_begin(pgbin_array *a, buf *b, uint32_t elem_oid, size_t n)
{
    assert(n <= INT32_MAX);
    buf_reset(b);
    a->b = b;
    put_u32(b, n ? 1 : 0); /* dimensions: none for the empty array */
    a->flags_at = b->len;
    put_u32(b, 0);
    put_u32(b, elem_oid);
    if (n) {
        put_u32(b, (uint32_t)n);
        put_u32(b, 1); /* lower bound */
    }
}

void pgbin_array_add(pgbin_array *a, const void *data, size_t len)
{
    if (!data) {
        put_u32(a->b, UINT32_MAX); /* -1 */
        if (!a->b->failed)
            a->b->data[a->flags_at + 3] = 1;
        return;
    }
    assert(len <= INT32_MAX);
    put_u32(a->b, (uint32_t)len);
    buf_append(a->b, data, len);
}

void pgbin_array_add_text(pgbin_array *a, const char *s)
{
    pgbin_array_add(a, s, s ? strlen(s) : 0);
}

int pgbin_array_add_uuid(pgbin_array *a, const char *s)
{
    if (!s || !s[0]) {
        pgbin_array_add(a, NULL, 0);
        return 0;
    }
    uuid_t u;
    if (uuid_parse(s, u) != 0)
        return -1;
    pgbin_array_add(a, u, sizeof u);
    return 0;
}

/* Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 UTC. */
#define PGBIN_EPOCH_US INT64_C(946684800000000)

void pgbin_array_add_time(pgbin_array *a, int64_t us)
{
    uint64_t v = (uint64_t)us - (uint64_t)PGBIN_EPOCH_US; /* wraps like int64 */
    unsigned char p[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
    pgbin_array_add(a, p, sizeof p);
}
