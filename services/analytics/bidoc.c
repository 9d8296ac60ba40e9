/* bidoc.c — the bi views' comments that list the schema's values.
 *
 * bi.tickets.channel says which channels there are, bi.customers.status
 * which statuses a customer has: lists that must follow events.proto. They
 * are written here from vocab.h and applied like the KPI view (setup.c,
 * migrate_derived), so a channel added to the proto is documented in the
 * database without a migration. The texts read as 0051_bi.sql wrote them.
 */
#include <pthread.h>

#include "analytics.h"
#include "buf.h"
#include "vocab.h"

static const struct bidoc_comment {
    const char *column;
    const ProtobufCEnumDescriptor *d;
    const char *before, *after;
    bool or_last; /* "a, b or c" rather than "a, b, c" */
} bidoc_comments[] = {
    {"bi.tickets.status", &carebus__v1__ticket_status__descriptor, "", ".", true},
    {"bi.tickets.channel", &carebus__v1__channel__descriptor,
     "The channel of the contact that opened the ticket (", ").", false},
    {"bi.tickets.category", &carebus__v1__category__descriptor, "The kind of request (",
     "); null until classified.", false},
    {"bi.tickets.priority", &carebus__v1__priority__descriptor, "", "; null until classified.",
     true},
    {"bi.tickets.segment", &carebus__v1__segment__descriptor, "The customer's segment (",
     ") the KPIs count the ticket under.", false},
    {"bi.customers.segment", &carebus__v1__segment__descriptor, "", ".", true},
    {"bi.customers.status", &carebus__v1__customer_status__descriptor, "", ".", true},
    {"bi.sla.target", &carebus__v1__sla_target__descriptor, "", ".", true},
};

/* Appends s, its quotes doubled (inside an SQL string literal). */
static void bidoc_quoted(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\'')
            buf_putc(b, '\'');
        buf_putc(b, *s);
    }
}

static const char *bidoc_text;
static pthread_once_t bidoc_once = PTHREAD_ONCE_INIT;

static void bidoc_build(void)
{
    buf b = BUF_INIT;
    buf_puts(&b, "-- Written by carebus-analytics from proto/carebus/v1/events.proto.\n");
    for (size_t i = 0; i < sizeof bidoc_comments / sizeof bidoc_comments[0]; i++) {
        const struct bidoc_comment *c = &bidoc_comments[i];
        buf_printf(&b, "COMMENT ON COLUMN %s IS '", c->column);
        bidoc_quoted(&b, c->before);
        size_t n = vocab_count(c->d);
        for (size_t k = 0; k < n; k++) {
            if (k)
                buf_puts(&b, c->or_last && k + 1 == n ? " or " : ", ");
            buf_puts(&b, vocab_name(c->d, vocab_value(c->d, k)));
        }
        bidoc_quoted(&b, c->after);
        buf_puts(&b, "';\n");
    }
    if (b.failed)
        buf_release(&b);
    else
        bidoc_text = buf_detach(&b, NULL); /* kept for the process's life */
}

const char *bidoc_sql(void)
{
    pthread_once(&bidoc_once, bidoc_build);
    return bidoc_text;
}
