/* delivery.c — a delivery, described once: the row of courier.deliveries
 * as every statement of courier writes and reads it.
 *
 * Besides the table's columns the description names what its statements
 * add: plan and after (written by intent.c's insert, which decides the
 * status from them), last_inbound_at (read from courier.windows beside a
 * delivery) and redelivered (a claim that took a lease that ran out).
 * message is bytea: written and read as PostgreSQL's hex form ("\x...").
 */
#include <stdlib.h>
#include <string.h>

#include "courier.h"
#include "hex.h"

static char *delivery_strdup(void *ctx, const char *s)
{
    (void)ctx;
    return strdup(s);
}

static void put_message(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const struct delivery *d = row;
    if (d->message)
        rowset_put_bytea(p, d->message, d->message_len);
    else
        rowset_put_null(p);
}

static int set_message(void *row, const char *text, void *ctx)
{
    (void)ctx;
    struct delivery *d = row;
    free(d->message);
    d->message = NULL;
    d->message_len = 0;
    if (!text)
        return 0;
    if (strncmp(text, "\\x", 2) != 0)
        return -1;
    size_t n = (strlen(text) - 2) / 2;
    if (!(d->message = malloc(n ? n : 1)))
        return -1;
    if (hex_decode(text + 2, strlen(text) - 2, d->message, n) != 0) {
        free(d->message);
        d->message = NULL;
        return -1;
    }
    d->message_len = n;
    return 0;
}

static void put_plan(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, ((const struct delivery *)row)->plan);
}

#define D(f) ROWSET_AT(struct delivery, f)
static const struct rowset_col delivery_cols[] = {
    {"id", "uuid", ROWSET_ID, D(id)},
    {"kind", "text", ROWSET_ID, D(kind)},
    {"channel", "text", ROWSET_ID, D(channel)},
    {"subscription_id", "uuid", ROWSET_ID, D(subscription_id)},
    {"message_delivery_id", "uuid", ROWSET_ID, D(message_delivery_id)},
    {"message_cause_id", "uuid", ROWSET_ID, D(message_cause_id)},
    {"cause_event_id", "uuid", ROWSET_ID, D(cause_event_id)},
    {"event_type", "text", ROWSET_ID, D(event_type)},
    {"ticket_id", "uuid", ROWSET_ID, D(ticket_id)},
    {"customer_id", "uuid", ROWSET_ID, D(customer_id)},
    {"order_key", "uuid", ROWSET_ID, D(order_key)},
    {"body", "text", ROWSET_STR, D(body)},
    {"message", "bytea", ROWSET_FN, .get = put_message, .set = set_message},
    {"recipient", "text", ROWSET_STR, D(recipient)},
    {"attempts", "int", ROWSET_INT, D(attempts)},
    {"deadline", "timestamptz", ROWSET_TIME, D(deadline_us), .none = 0},
    {"last_error_code", "text", ROWSET_ID, D(last_error_code)},
    {"last_error", "text", ROWSET_STR, D(last_error)},
    {"status", "text", ROWSET_ID, D(status)},
    /* what the statements add */
    {"plan", "text", ROWSET_FN, .get = put_plan},
    {"after", "boolean", ROWSET_BOOL, D(after)},
    {"last_inbound_at", "timestamptz", ROWSET_TIME, D(last_inbound_us), .none = 0},
    {"redelivered", "boolean", ROWSET_BOOL, D(redelivered)},
};
#undef D
const rowset_table delivery_table = {"courier.deliveries", delivery_cols,
                                     ROWSET_COUNT(delivery_cols), delivery_strdup};

void delivery_release(struct delivery *d)
{
    free(d->body);
    free(d->message);
    free(d->recipient);
    free(d->last_error);
    d->body = NULL;
    d->last_error = NULL;
    d->message = NULL;
    d->message_len = 0;
    d->recipient = NULL;
}

bool delivery_is_message(const struct delivery *d)
{
    return strcmp(d->kind, "webhook") != 0;
}
