/* report.c — the events courier emits, from a delivery.
 *
 * message.sent and message.failed carry the message's delivery id (the
 * router's handle on the reply) and take their event id from it, so that
 * a message reported twice (a batch written again, two integrator
 * subscriptions) is one event in the log. subscription.paused takes its id
 * from the subscription and the start of the failures that paused it.
 */
#include <stdio.h>
#include <string.h>

#include "courier.h"
#include "metrics.h"

static Carebus__V1__OutboundKind kind_of(const struct delivery *d)
{
    int v = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_UNSPECIFIED;
    vocab_parse(&carebus__v1__outbound_kind__descriptor, d->kind, &v);
    return (Carebus__V1__OutboundKind)v;
}

static Carebus__V1__Channel channel_of(const struct delivery *d)
{
    Carebus__V1__Channel c = CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    event_channel_parse(d->channel, &c);
    return c;
}

static void report_envelope(struct report *r, const struct delivery *d, int64_t at_us)
{
    carebus__v1__envelope__init(&r->ev);
    google__protobuf__timestamp__init(&r->at);
    event_ts_set(&r->at, at_us);
    r->ev.event_id = r->event_id;
    r->ev.occurred_at = &r->at;
    r->ev.customer_id = (char *)d->customer_id;
    r->ev.ticket_id = (char *)d->ticket_id;
    r->ev.causation_id = (char *)d->cause_event_id;
}

void report_sent(struct report *r, const struct delivery *d, const char *provider_message_id,
                 int attempts, int64_t at_us)
{
    memset(r, 0, sizeof *r);
    id_derive2(d->message_delivery_id, "message.sent", r->event_id);
    report_envelope(r, d, at_us);
    carebus__v1__message_sent__init(&r->sent);
    r->sent.delivery_id = (char *)d->message_delivery_id;
    r->sent.cause_event_id = (char *)d->message_cause_id;
    r->sent.kind = kind_of(d);
    r->sent.channel = channel_of(d);
    r->sent.provider_message_id = (char *)(provider_message_id ? provider_message_id : "");
    r->sent.attempts = attempts > 0 ? (uint32_t)attempts : 0;
    r->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_SENT;
    r->ev.message_sent = &r->sent;
}

void report_failed(struct report *r, const struct delivery *d, const char *code, const char *reason,
                   int attempts, int64_t at_us)
{
    memset(r, 0, sizeof *r);
    id_derive2(d->message_delivery_id, "message.failed", r->event_id);
    report_envelope(r, d, at_us);
    carebus__v1__message_failed__init(&r->failed);
    r->failed.delivery_id = (char *)d->message_delivery_id;
    r->failed.cause_event_id = (char *)d->message_cause_id;
    r->failed.kind = kind_of(d);
    r->failed.channel = channel_of(d);
    r->failed.code = (char *)(code ? code : "");
    r->failed.reason = (char *)(reason ? reason : "");
    r->failed.permanent = true;
    r->failed.attempts = attempts > 0 ? (uint32_t)attempts : 0;
    r->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED;
    r->ev.message_failed = &r->failed;
}

void report_paused(struct report *r, const char *subscription_id, const char *reason,
                   int64_t failing_since_us, int64_t at_us)
{
    memset(r, 0, sizeof *r);
    char name[96];
    snprintf(name, sizeof name, "subscription.paused/%lld", (long long)failing_since_us);
    id_derive2(subscription_id, name, r->event_id);
    carebus__v1__envelope__init(&r->ev);
    google__protobuf__timestamp__init(&r->at);
    google__protobuf__timestamp__init(&r->since);
    event_ts_set(&r->at, at_us);
    event_ts_set(&r->since, failing_since_us);
    r->ev.event_id = r->event_id;
    r->ev.occurred_at = &r->at;
    carebus__v1__subscription_paused__init(&r->paused);
    r->paused.subscription_id = (char *)subscription_id;
    r->paused.reason = (char *)reason;
    r->paused.failing_since = &r->since;
    r->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_PAUSED;
    r->ev.subscription_paused = &r->paused;
}

void report_count(const char *channel, const char *kind, const char *outcome)
{
    char series[192];
    snprintf(series, sizeof series,
             "carebus_courier_deliveries_total{channel=\"%s\",kind=\"%s\",outcome=\"%s\"}",
             channel && channel[0] ? channel : "webhook", kind, outcome);
    metrics_add(series, 1);
}
