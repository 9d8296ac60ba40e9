/* apply.c — the consumer: what each event of each stream makes courier do.
 *
 * Every event of every stream goes to the subscriptions whose patterns
 * match its type (a webhook delivery each, its body the event as JSON; the
 * static subscriptions of CAREBUS_OUTBOUND_WEBHOOK_URLS get the flat shape
 * survey sent before courier, webhook_legacy_body); some also do more:
 *   message.outbound   (router, and courier's own for surveys) a message to
 *                      send: through its channel's adapter, or, in
 *                      integrator mode, as the message.outbound webhooks to
 *                      the subscriptions that own the channel (none:
 *                      message.failed at once);
 *   survey.requested   (survey) the invitation on the customer's channel:
 *                      courier emits a message.outbound (kind survey) that
 *                      it then delivers like any other;
 *   contact.received   (ingest) the customer's messaging window;
 *   subscription.saved / .deleted (ingest), subscription.paused (courier)
 *                      the subscriptions table.
 * Ids are derived (a delivery from its event and subscription, a message
 * from its cause) and deadlines come from the log's times, so that an event
 * applied twice (it cannot be, offsets commit with the deliveries) or long
 * after it was recorded behaves the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier.h"
#include "datakey.h"
#include "erased.h"
#include "event_json.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "webhook.h"

#define APPLY_MAX_SUBS 256

/* The log's time of the event (set on every event a consumer sees), else
 * its occurred_at, else now. */
static int64_t event_time_us(const event *ev)
{
    if (ev->recorded_at)
        return event_ts_us(ev->recorded_at);
    if (ev->occurred_at)
        return event_ts_us(ev->occurred_at);
    return time_now_us();
}

static void copy_id(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s && id_valid(s) ? s : "");
}

/* How a channel knows the customer: the handle, else the phone, else the
 * email (the key of courier.windows, on both sides). */
static const char *customer_key(const Carebus__V1__CustomerRef *r)
{
    if (!r)
        return NULL;
    if (r->handle && r->handle[0])
        return r->handle;
    if (r->phone && r->phone[0])
        return r->phone;
    if (r->email && r->email[0])
        return r->email;
    return NULL;
}

/* Emits message.failed for a message that fails before any attempt. */
static consumer_result fail_now(consumer_txn *tx, const struct delivery *d, const char *code,
                                const char *reason)
{
    struct report r;
    report_failed(&r, d, code, reason, 0, time_now_us());
    if (consumer_emit(tx, &r.ev) != 0)
        return CONSUMER_RETRY;
    report_count(d->channel, d->kind, "failed");
    log_info("message %s on %s failed: %s", d->message_delivery_id,
             d->channel[0] ? d->channel : "no channel", reason);
    return CONSUMER_OK;
}

/* The fields every delivery of ev shares. */
static void delivery_from_event(struct delivery *d, const event *ev)
{
    memset(d, 0, sizeof *d);
    copy_id(d->cause_event_id, sizeof d->cause_event_id, ev->event_id);
    snprintf(d->event_type, sizeof d->event_type, "%s", ev->type ? ev->type : "");
    copy_id(d->ticket_id, sizeof d->ticket_id, ev->ticket_id);
    copy_id(d->customer_id, sizeof d->customer_id, ev->customer_id);
}

/* A message's fields (m: the message.outbound carried or sent). */
static void delivery_message(struct delivery *d, const Carebus__V1__MessageOutbound *m,
                             const char *delivery_id)
{
    const char *kind = vocab_name(&carebus__v1__outbound_kind__descriptor, (int)m->kind);
    snprintf(d->kind, sizeof d->kind, "%s", kind[0] ? kind : "reply");
    snprintf(d->channel, sizeof d->channel, "%s", event_channel_name(m->channel));
    copy_id(d->message_delivery_id, sizeof d->message_delivery_id, delivery_id);
    copy_id(d->message_cause_id, sizeof d->message_cause_id, m->cause_event_id);
}

/* message.outbound's delivery id, or one derived from the event when the
 * producer left it empty. */
static const char *message_delivery_id(const event *ev, char out[ID_LEN])
{
    const char *id = ev->message_outbound->delivery_id;
    if (id && id_valid(id))
        return id;
    id_derive2(ev->event_id, "delivery", out);
    return out;
}

/* Every event: one delivery per matching subscription. carried: the message
 * these deliveries stand for (message.outbound in integrator mode). *n:
 * how many. */
static consumer_result fan_out(courier *c, const event *ev, bool carried, size_t *n)
{
    *n = 0;
    const struct sub *to[APPLY_MAX_SUBS];
    size_t k;
    if (subs_for_event(c->subs, ev, to, APPLY_MAX_SUBS, &k) != 0)
        return CONSUMER_RETRY;
    if (k == 0)
        return CONSUMER_OK;
    json_t *j = event_json(ev);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!body) {
        json_decref(j);
        return CONSUMER_RETRY;
    }
    int64_t recorded = event_time_us(ev);
    char mid[ID_LEN];
    consumer_result r = CONSUMER_OK;
    for (size_t i = 0; i < k && r == CONSUMER_OK; i++) {
        struct delivery d;
        delivery_from_event(&d, ev);
        id_derive2(ev->event_id, to[i]->id, d.id);
        snprintf(d.subscription_id, sizeof d.subscription_id, "%s", to[i]->id);
        snprintf(d.order_key, sizeof d.order_key, "%s", d.ticket_id);
        if (carried) {
            delivery_message(&d, ev->message_outbound, message_delivery_id(ev, mid));
            d.deadline_us = recorded + (int64_t)c->cfg.retry_s * 1000000;
        } else {
            snprintf(d.kind, sizeof d.kind, "webhook");
            d.deadline_us = recorded + (int64_t)c->cfg.webhook_retry_s * 1000000;
        }
        d.body = to[i]->is_static ? webhook_legacy_body(j, d.id) : strdup(body);
        if (!d.body || intent_add(c->intent, &d) != 0)
            r = CONSUMER_RETRY;
        delivery_release(&d);
    }
    json_decref(j);
    free(body);
    *n = k;
    return r;
}

/* The default: every event goes to the subscriptions that want it. */
static consumer_result on_event(consumer_txn *tx, const event *ev, void *arg)
{
    courier *c = arg;
    size_t n;
    if (subs_ensure(c->subs, consumer_txn_db(tx)) != 0)
        return CONSUMER_RETRY;
    return fan_out(c, ev, false, &n);
}

static consumer_result on_message_outbound(consumer_txn *tx, const event *ev, void *arg)
{
    courier *c = arg;
    const Carebus__V1__MessageOutbound *m = ev->message_outbound;
    if (subs_ensure(c->subs, consumer_txn_db(tx)) != 0)
        return CONSUMER_RETRY;
    const struct outbound_adapter *a = outbound_adapter_for(m->channel);
    bool known = m->channel != CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    /* A recipient erased (a reply to, or an invitation of, an erased
     * customer): nothing goes to "[erased]", neither through an adapter nor
     * as a webhook (an integrator's subscription to message.outbound would
     * take it for one to send); its message.failed is notified. */
    const char *who = customer_key(m->recipient);
    bool erased = who && strcmp(who, DATAKEY_ERASED) == 0;
    size_t n = 0;
    consumer_result r = erased ? CONSUMER_OK : fan_out(c, ev, !a && known, &n);
    if (r != CONSUMER_OK)
        return r;
    char mid[ID_LEN];
    struct delivery d;
    delivery_from_event(&d, ev);
    delivery_message(&d, m, message_delivery_id(ev, mid));
    if (!known)
        return fail_now(tx, &d, "no_channel", "no channel to send the message on");
    if (erased)
        return fail_now(tx, &d, "customer_erased", "the recipient was erased");
    if (!a) {
        if (n > 0)
            return CONSUMER_OK; /* the integrator's subscriptions carry it */
        char why[128];
        snprintf(why, sizeof why, "no integrator subscribed to message.outbound on %s",
                 d.channel[0] ? d.channel : "an unknown channel");
        return fail_now(tx, &d, "no_integrator", why);
    }
    /* Through the channel's adapter: the delivery id is the message's. */
    snprintf(d.id, sizeof d.id, "%s", d.message_delivery_id);
    d.deadline_us = event_time_us(ev) + (int64_t)c->cfg.retry_s * 1000000;
    size_t len = carebus__v1__message_outbound__get_packed_size(m);
    d.message = malloc(len ? len : 1);
    d.recipient = who ? strdup(who) : NULL;
    if (!d.message || (who && !d.recipient)) {
        delivery_release(&d);
        return CONSUMER_RETRY;
    }
    d.message_len = carebus__v1__message_outbound__pack(m, d.message);
    r = intent_add(c->intent, &d) == 0 ? CONSUMER_OK : CONSUMER_RETRY;
    delivery_release(&d);
    return r;
}

/* The invitation as a message to the customer on their channel. */
static consumer_result on_survey_requested(consumer_txn *tx, const event *ev, void *arg)
{
    consumer_result r = on_event(tx, ev, arg);
    if (r != CONSUMER_OK)
        return r;
    const Carebus__V1__SurveyRequested *s = ev->survey_requested;
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    const char *handle = s->handle ? s->handle : "";
    who.handle = (char *)handle;
    if (s->channel == CAREBUS__V1__CHANNEL__CHANNEL_SMS ||
        s->channel == CAREBUS__V1__CHANNEL__CHANNEL_PHONE)
        who.phone = (char *)handle;
    else if (s->channel == CAREBUS__V1__CHANNEL__CHANNEL_EMAIL)
        who.email = (char *)handle;
    char delivery_id[ID_LEN];
    id_derive2(ev->event_id, "survey-invitation", delivery_id);
    Carebus__V1__MessageOutbound m = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    m.delivery_id = delivery_id;
    m.cause_event_id = ev->event_id;
    m.kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_SURVEY;
    m.channel = s->channel;
    m.recipient = &who;
    m.text = s->text ? s->text : "";
    m.language = s->language ? s->language : "";
    event out = CAREBUS__V1__ENVELOPE__INIT;
    out.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_OUTBOUND;
    out.message_outbound = &m;
    out.customer_id = ev->customer_id;
    out.ticket_id = ev->ticket_id;
    Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&at, event_time_us(ev));
    out.occurred_at = &at;
    return consumer_emit(tx, &out) == 0 ? CONSUMER_OK : CONSUMER_RETRY;
}

static consumer_result on_contact_received(consumer_txn *tx, const event *ev, void *arg)
{
    courier *c = arg;
    consumer_result r = on_event(tx, ev, arg);
    if (r != CONSUMER_OK)
        return r;
    const Carebus__V1__ContactReceived *m = ev->contact_received;
    const char *who = customer_key(m->customer);
    const char *channel = event_channel_name(m->channel);
    /* An erased contact read from the log (a rebuild) has no handle left. */
    if (!who || !channel[0] || strcmp(who, DATAKEY_ERASED) == 0)
        return CONSUMER_OK;
    int64_t at = ev->occurred_at ? event_ts_us(ev->occurred_at) : event_time_us(ev);
    return intent_window(c->intent, channel, who, at) == 0 ? CONSUMER_OK : CONSUMER_RETRY;
}

static int emit_given_up(const struct delivery *d, const char *code, const char *reason, void *arg)
{
    consumer_txn *tx = arg;
    struct report r;
    report_failed(&r, d, code, reason, d->attempts, time_now_us());
    report_count(d->channel, d->kind, "failed");
    return consumer_emit(tx, &r.ev);
}

static consumer_result on_subscription_saved(consumer_txn *tx, const event *ev, void *arg)
{
    courier *c = arg;
    consumer_result r = on_event(tx, ev, arg);
    if (r != CONSUMER_OK)
        return r;
    const Carebus__V1__SubscriptionSaved *m = ev->subscription_saved;
    if (!m->subscription_id || !id_valid(m->subscription_id))
        return CONSUMER_SKIP;
    intent_touched_subs(c->intent);
    int rc = subs_save(c->subs, consumer_txn_db(tx), m, event_time_us(ev));
    if (rc < 0)
        return CONSUMER_RETRY;
    const struct sub *s = subs_find(c->subs, m->subscription_id);
    if (rc == 0 && s && !s->active &&
        intent_give_up(consumer_txn_db(tx), s->id, "subscription_inactive",
                       "the subscription was deactivated", emit_given_up, tx) != 0)
        return CONSUMER_RETRY;
    log_info("webhook subscription %s saved (%s)", m->subscription_id,
             s && s->active ? "active" : "inactive");
    return CONSUMER_OK;
}

static consumer_result on_subscription_deleted(consumer_txn *tx, const event *ev, void *arg)
{
    courier *c = arg;
    consumer_result r = on_event(tx, ev, arg);
    if (r != CONSUMER_OK)
        return r;
    const char *id = ev->subscription_deleted->subscription_id;
    if (!id || !id_valid(id))
        return CONSUMER_SKIP;
    intent_touched_subs(c->intent);
    if (subs_delete(c->subs, consumer_txn_db(tx), id) != 0 ||
        intent_give_up(consumer_txn_db(tx), id, "subscription_deleted",
                       "the subscription was deleted", emit_given_up, tx) != 0)
        return CONSUMER_RETRY;
    log_info("webhook subscription %s deleted", id);
    return CONSUMER_OK;
}

/* Courier paused it itself (record.c) and wrote the row then: this keeps a
 * rebuilt table the same, and tells the subscribers. */
static consumer_result on_subscription_paused(consumer_txn *tx, const event *ev, void *arg)
{
    courier *c = arg;
    consumer_result r = on_event(tx, ev, arg);
    if (r != CONSUMER_OK)
        return r;
    const Carebus__V1__SubscriptionPaused *m = ev->subscription_paused;
    if (!m->subscription_id || !id_valid(m->subscription_id))
        return CONSUMER_SKIP;
    const char *p[] = {m->subscription_id, m->reason ? m->reason : ""};
    if (db_command(consumer_txn_db(tx),
                   "UPDATE courier.subscriptions SET paused_at = coalesce(paused_at, now()),"
                   " paused_reason = coalesce(paused_reason, $2) WHERE id = $1",
                   2, p) != 0)
        return CONSUMER_RETRY;
    subs_set_paused(c->subs, m->subscription_id);
    return CONSUMER_OK;
}

/* customer.erased: offered to the subscriptions like any event (an
 * integrator erases too); the deliveries to those customers not yet done
 * are given up (a message among them reported failed, code
 * "customer_erased": nothing more goes to the erased recipient), then every
 * delivery to them is redacted (erased.h). An attempt already in flight
 * may still arrive; its outcome is not recorded over the give-up. */
static consumer_result on_customer_erased(consumer_txn *tx, const event *ev, void *arg)
{
    courier *c = arg;
    consumer_result r = on_event(tx, ev, arg);
    if (r != CONSUMER_OK)
        return r;
    const Carebus__V1__CustomerErased *m = ev->customer_erased;
    const char **ids = calloc(m->n_customer_ids ? m->n_customer_ids : 1, sizeof *ids);
    if (!ids)
        return CONSUMER_RETRY;
    size_t n = 0;
    for (size_t i = 0; i < m->n_customer_ids; i++)
        if (id_valid(m->customer_ids[i]))
            ids[n++] = m->customer_ids[i];
    int rc = intent_give_up_customers(c->intent, consumer_txn_db(tx), ids, n, "customer_erased",
                                      "the customer was erased", emit_given_up, tx);
    free(ids);
    if (rc != 0)
        return CONSUMER_RETRY;
    return erased_apply(consumer_txn_db(tx), m, "courier.erase") == 0 ? CONSUMER_OK
                                                                      : CONSUMER_RETRY;
}

/* --- the table ---------------------------------------------------------------- */

/* Indexed by body case; every case gets on_event, some their own. */
#define APPLY_MAX_CASES 128
static struct consumer_handler handlers[APPLY_MAX_CASES];
const struct consumer_handler *const courier_handlers = handlers;
const size_t courier_nhandlers = APPLY_MAX_CASES;

void courier_handlers_init(void)
{
    for (size_t i = 0; i < vocab_event_type_count(); i++) {
        int k = vocab_event_type_at(i);
        if (k > 0 && k < APPLY_MAX_CASES)
            handlers[k] = (struct consumer_handler){NULL, on_event};
    }
    static const struct {
        Carebus__V1__Envelope__BodyCase k;
        consumer_apply_fn fn;
    } own[] = {
        {CAREBUS__V1__ENVELOPE__BODY_MESSAGE_OUTBOUND, on_message_outbound},
        {CAREBUS__V1__ENVELOPE__BODY_SURVEY_REQUESTED, on_survey_requested},
        {CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED, on_contact_received},
        {CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_SAVED, on_subscription_saved},
        {CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_DELETED, on_subscription_deleted},
        {CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_PAUSED, on_subscription_paused},
        {CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASED, on_customer_erased},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        handlers[own[i].k] = (struct consumer_handler){NULL, own[i].fn};
}
