/* address.c — see address.h. */
#include "address.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The identity kind a channel's messages go to (identity.h's kinds). */
static const char *kind_of(Carebus__V1__Channel channel)
{
    switch (channel) {
    case CAREBUS__V1__CHANNEL__CHANNEL_PHONE:
    case CAREBUS__V1__CHANNEL__CHANNEL_SMS:
        return "phone";
    case CAREBUS__V1__CHANNEL__CHANNEL_EMAIL:
        return "email";
    default:
        return event_channel_name(channel); /* "" for unknown: matches nothing */
    }
}

/* Newest first, then the greatest value. */
static const m_identity *best_of(const m_identity *const *ids, size_t n, const char *kind)
{
    const m_identity *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const m_identity *x = ids[i];
        if (!kind[0] || !x->kind || !x->value || strcmp(x->kind, kind) != 0)
            continue;
        if (!best || x->created > best->created ||
            (x->created == best->created && strcmp(x->value, best->value) > 0))
            best = x;
    }
    return best;
}

int address_recipient(Carebus__V1__Channel channel, const m_identity *const *ids, size_t n,
                      address_rcpt *out)
{
    memset(out, 0, sizeof *out);
    const m_identity *id = best_of(ids, n, kind_of(channel));
    if (id) {
        snprintf(out->handle, sizeof out->handle, "%s", id->value);
        if (strcmp(id->kind, "phone") == 0)
            snprintf(out->phone, sizeof out->phone, "%s", id->value);
        else if (strcmp(id->kind, "email") == 0)
            snprintf(out->email, sizeof out->email, "%s", id->value);
        return 0;
    }
    /* A WhatsApp id that reads as a number became a phone identity
     * (identity_handle): its id is that number without "+". */
    if (channel == CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP &&
        (id = best_of(ids, n, "phone")) != NULL) {
        snprintf(out->handle, sizeof out->handle, "%s", id->value + (id->value[0] == '+'));
        snprintf(out->phone, sizeof out->phone, "%s", id->value);
        return 0;
    }
    return -1;
}

/* The log's order, then inbound before outbound (a contact and the
 * acknowledgement it caused share their place), then by id. */
static bool msg_before(const m_message *a, const m_message *b)
{
    if (a->at != b->at)
        return a->at < b->at;
    int c = strcmp(a->stream ? a->stream : "", b->stream ? b->stream : "");
    if (c != 0)
        return c < 0;
    if (a->seq != b->seq)
        return a->seq < b->seq;
    c = strcmp(a->direction ? a->direction : "", b->direction ? b->direction : "");
    if (c != 0)
        return c < 0;
    return strcmp(a->event_id ? a->event_id : "", b->event_id ? b->event_id : "") < 0;
}

static bool is_in(const m_message *x)
{
    return x->direction && strcmp(x->direction, "in") == 0;
}

static bool on(const m_message *x, const char *channel)
{
    return !channel || (x->channel && strcmp(x->channel, channel) == 0);
}

const m_message *address_last_inbound(const m_message *const *msgs, size_t n, const char *channel)
{
    const m_message *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (is_in(msgs[i]) && on(msgs[i], channel) && (!best || msg_before(best, msgs[i])))
            best = msgs[i];
    return best;
}

static const char *email(void)
{
    return event_channel_name(CAREBUS__V1__CHANNEL__CHANNEL_EMAIL);
}

static bool has_id(const m_message *x)
{
    return x->external_id && x->external_id[0];
}

const char *address_in_reply_to(const m_message *const *msgs, size_t n)
{
    const m_message *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (is_in(msgs[i]) && on(msgs[i], email()) && has_id(msgs[i]) &&
            (!best || msg_before(best, msgs[i])))
            best = msgs[i];
    return best ? best->external_id : NULL;
}

size_t address_references(const m_message *const *msgs, size_t n, const char **out, size_t max)
{
    if (max < 2)
        return 0;
    /* Selection of the next oldest, once per email of the thread (a
     * thread is short; the messages stay where the model keeps them). A
     * repeat is recognised among the ids kept. */
    const m_message *prev = NULL;
    size_t k = 0;
    for (size_t round = 0; round < n; round++) {
        const m_message *next = NULL;
        for (size_t i = 0; i < n; i++) {
            const m_message *x = msgs[i];
            if (!on(x, email()) || !has_id(x) || strcmp(x->direction, "note") == 0)
                continue;
            if ((!prev || msg_before(prev, x)) && (!next || msg_before(x, next)))
                next = x;
        }
        if (!next)
            break;
        prev = next;
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = strcmp(out[j], next->external_id) == 0;
        if (seen)
            continue;
        if (k < max) {
            out[k++] = next->external_id;
        } else {
            /* Keep the first; shift the rest to make room for the latest. */
            memmove(out + 1, out + 2, (max - 2) * sizeof *out);
            out[max - 1] = next->external_id;
        }
    }
    return k;
}

void address_message_id(const char *id, const char *domain, char *out, size_t len)
{
    snprintf(out, len, "<%s@%s>", id, domain);
}

void address_subject(const char *subject, char *out, size_t len)
{
    if (!subject)
        subject = "";
    while (*subject == ' ' || *subject == '\t')
        subject++;
    if (!subject[0])
        snprintf(out, len, "%s", "");
    else if (strncasecmp(subject, "re:", 3) == 0)
        snprintf(out, len, "%s", subject);
    else
        snprintf(out, len, "Re: %s", subject);
}
