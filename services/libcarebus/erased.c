/* erased.c — see erased.h. */
#include "erased.h"

#include <stdio.h>

#include "buf.h"
#include "id.h"

size_t erased_ids(const Carebus__V1__CustomerErased *e, buf *out)
{
    buf_putc(out, '{');
    size_t n = 0;
    for (size_t i = 0; i < e->n_customer_ids; i++) {
        if (!id_valid(e->customer_ids[i]))
            continue;
        if (n++)
            buf_putc(out, ',');
        buf_puts(out, e->customer_ids[i]);
    }
    buf_putc(out, '}');
    return n;
}

int erased_apply(db *d, const Carebus__V1__CustomerErased *e, const char *fn)
{
    buf ids = BUF_INIT, sql = BUF_INIT;
    size_t n = erased_ids(e, &ids);
    buf_printf(&sql, "SELECT %s($1::uuid[])", fn);
    const char *p[] = {buf_str(&ids)};
    int rc = n == 0 ? 0 : ids.failed || sql.failed ? -1 : db_command(d, buf_str(&sql), 1, p);
    buf_release(&ids);
    buf_release(&sql);
    return rc;
}
