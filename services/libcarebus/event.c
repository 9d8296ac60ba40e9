/* event.c — the envelope's names, packing and enum spellings.
 *
 * Every name lives in a table indexed by the protobuf value, so adding a body
 * or an enum value is one line here (test_event.c walks the descriptor and
 * fails when a body has no name). Timestamps follow google.protobuf.Timestamp:
 * seconds are floored and nanos are always in [0, 1e9), also before 1970.
 */
#include "event.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const event_type_names[] = {
    [CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED] = "contact.received",
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = "agent.replied",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED] = "ticket.status_changed",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFER_REQUESTED] = "ticket.transfer_requested",
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE] = "agent.presence",
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED] = "customer.profile_updated",
    [CAREBUS__V1__ENVELOPE__BODY_CALL_ENDED] = "call.ended",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED] = "ticket.opened",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED] = "ticket.contact_added",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_CLASSIFIED] = "ticket.classified",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGNED] = "ticket.assigned",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_QUEUED] = "ticket.queued",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFERRED] = "ticket.transferred",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED] = "ticket.reopened",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED] = "ticket.solved",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED] = "ticket.closed",
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_ESCALATED] = "ticket.escalated",
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED] = "customer.merged",
    [CAREBUS__V1__ENVELOPE__BODY_SLA_WARNING] = "sla.warning",
    [CAREBUS__V1__ENVELOPE__BODY_SLA_BREACH] = "sla.breach",
    [CAREBUS__V1__ENVELOPE__BODY_SLA_ESCALATION] = "sla.escalation",
    [CAREBUS__V1__ENVELOPE__BODY_SURVEY_REQUESTED] = "survey.requested",
    [CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED] = "survey.answered",
};

const char *event_type_name(Carebus__V1__Envelope__BodyCase c)
{
    /* Indices below the first body (NOT_SET included) are NULL holes. */
    if ((int)c < 0 || (size_t)c >= COUNT(event_type_names))
        return NULL;
    return event_type_names[c];
}

uint8_t *event_pack(const event *ev, size_t *len)
{
    size_t n = carebus__v1__envelope__get_packed_size(ev);
    /* An all-default envelope packs to 0 bytes; malloc(0) may be NULL. */
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL)
        return NULL;
    size_t w = carebus__v1__envelope__pack(ev, buf);
    assert(w == n);
    (void)w;
    *len = n;
    return buf;
}

event *event_unpack(const uint8_t *buf, size_t len)
{
    if (len > EVENT_MAX_SIZE)
        return NULL;
    return carebus__v1__envelope__unpack(NULL, len, buf);
}

void event_free(event **pev)
{
    if (pev == NULL || *pev == NULL)
        return;
    carebus__v1__envelope__free_unpacked(*pev, NULL);
    *pev = NULL;
}

#define US_PER_SEC INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)

/* 0 for an absent timestamp. A value off the wire may be out of the
 * Timestamp range: it saturates instead of overflowing. */
int64_t event_ts_us(const Google__Protobuf__Timestamp *ts)
{
    if (ts == NULL)
        return 0;
    int64_t s = ts->seconds;
    int64_t ns = ts->nanos;
    /* The margin covers the carry of up to 3 s from nanos below. */
    if (s > INT64_MAX / US_PER_SEC - 4)
        return INT64_MAX;
    if (s < INT64_MIN / US_PER_SEC + 4)
        return INT64_MIN;
    /* Normalise nanos outside [0, 1e9) (only a foreign producer sends them). */
    s += ns / NS_PER_SEC;
    ns %= NS_PER_SEC;
    if (ns < 0) {
        ns += NS_PER_SEC;
        s -= 1;
    }
    return s * US_PER_SEC + ns / 1000;
}

/* ts must be initialised (GOOGLE__PROTOBUF__TIMESTAMP__INIT); only seconds
 * and nanos are written. */
void event_ts_set(Google__Protobuf__Timestamp *ts, int64_t us)
{
    int64_t s = us / US_PER_SEC;
    int64_t r = us % US_PER_SEC;
    if (r < 0) {
        r += US_PER_SEC;
        s -= 1;
    }
    ts->seconds = s;
    ts->nanos = (int32_t)(r * 1000);
}

/* --- enum spellings: one table per enum, indexed by value ---------------- */

static const char *const channel_names[] = {
    [CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED] = "",
    [CAREBUS__V1__CHANNEL__CHANNEL_PHONE] = "phone",
    [CAREBUS__V1__CHANNEL__CHANNEL_EMAIL] = "email",
    [CAREBUS__V1__CHANNEL__CHANNEL_CHAT] = "chat",
    [CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK] = "facebook",
    [CAREBUS__V1__CHANNEL__CHANNEL_ZALO] = "zalo",
    [CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM] = "instagram",
    [CAREBUS__V1__CHANNEL__CHANNEL_TIKTOK] = "tiktok",
    [CAREBUS__V1__CHANNEL__CHANNEL_TWITTER] = "twitter",
    [CAREBUS__V1__CHANNEL__CHANNEL_SMS] = "sms",
    [CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP] = "whatsapp",
    [CAREBUS__V1__CHANNEL__CHANNEL_HELPCENTER] = "helpcenter",
    [CAREBUS__V1__CHANNEL__CHANNEL_STORE] = "store",
};

static const char *const segment_names[] = {
    [CAREBUS__V1__SEGMENT__SEGMENT_UNSPECIFIED] = "",
    [CAREBUS__V1__SEGMENT__SEGMENT_REGULAR] = "regular",
    [CAREBUS__V1__SEGMENT__SEGMENT_VIP] = "vip",
    [CAREBUS__V1__SEGMENT__SEGMENT_WHOLESALE] = "wholesale",
};

static const char *const ticket_status_names[] = {
    [CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_UNSPECIFIED] = "",
    [CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN] = "open",
    [CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING] = "pending",
    [CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED] = "solved",
    [CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_CLOSED] = "closed",
};

static const char *const category_names[] = {
    [CAREBUS__V1__CATEGORY__CATEGORY_UNSPECIFIED] = "",
    [CAREBUS__V1__CATEGORY__CATEGORY_TECHNICAL_SUPPORT] = "technical_support",
    [CAREBUS__V1__CATEGORY__CATEGORY_COMPLAINT] = "complaint",
    [CAREBUS__V1__CATEGORY__CATEGORY_PRODUCT_INFO] = "product_info",
    [CAREBUS__V1__CATEGORY__CATEGORY_RETURNS_WARRANTY] = "returns_warranty",
    [CAREBUS__V1__CATEGORY__CATEGORY_BILLING] = "billing",
    [CAREBUS__V1__CATEGORY__CATEGORY_SALES] = "sales",
    [CAREBUS__V1__CATEGORY__CATEGORY_ACCOUNT] = "account",
    [CAREBUS__V1__CATEGORY__CATEGORY_OTHER] = "other",
};

static const char *const priority_names[] = {
    [CAREBUS__V1__PRIORITY__PRIORITY_UNSPECIFIED] = "",
    [CAREBUS__V1__PRIORITY__PRIORITY_LOW] = "low",
    [CAREBUS__V1__PRIORITY__PRIORITY_NORMAL] = "normal",
    [CAREBUS__V1__PRIORITY__PRIORITY_HIGH] = "high",
    [CAREBUS__V1__PRIORITY__PRIORITY_URGENT] = "urgent",
};

static const char *const presence_names[] = {
    [CAREBUS__V1__PRESENCE__PRESENCE_UNSPECIFIED] = "",
    [CAREBUS__V1__PRESENCE__PRESENCE_ONLINE] = "online",
    [CAREBUS__V1__PRESENCE__PRESENCE_AWAY] = "away",
    [CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE] = "offline",
};

/* "" for UNSPECIFIED and for a value this build does not know (a newer
 * producer's): callers print names, and NULL would crash them. */
static const char *enum_name(const char *const *names, size_t n, int v)
{
    if (v < 0 || (size_t)v >= n || names[v] == NULL)
        return "";
    return names[v];
}

/* Index of s in names, skipping UNSPECIFIED (0): "" is never a valid name. */
static int enum_parse(const char *const *names, size_t n, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return -1;
    for (size_t i = 1; i < n; i++)
        if (names[i] != NULL && strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

const char *event_channel_name(Carebus__V1__Channel c)
{
    return enum_name(channel_names, COUNT(channel_names), (int)c);
}

int event_channel_parse(const char *s, Carebus__V1__Channel *out)
{
    int i = enum_parse(channel_names, COUNT(channel_names), s);
    if (i < 0)
        return -1;
    *out = (Carebus__V1__Channel)i;
    return 0;
}

const char *event_segment_name(Carebus__V1__Segment s)
{
    return enum_name(segment_names, COUNT(segment_names), (int)s);
}

int event_segment_parse(const char *s, Carebus__V1__Segment *out)
{
    int i = enum_parse(segment_names, COUNT(segment_names), s);
    if (i < 0)
        return -1;
    *out = (Carebus__V1__Segment)i;
    return 0;
}

const char *event_ticket_status_name(Carebus__V1__TicketStatus s)
{
    return enum_name(ticket_status_names, COUNT(ticket_status_names), (int)s);
}

int event_ticket_status_parse(const char *s, Carebus__V1__TicketStatus *out)
{
    int i = enum_parse(ticket_status_names, COUNT(ticket_status_names), s);
    if (i < 0)
        return -1;
    *out = (Carebus__V1__TicketStatus)i;
    return 0;
}

const char *event_category_name(Carebus__V1__Category c)
{
    return enum_name(category_names, COUNT(category_names), (int)c);
}

int event_category_parse(const char *s, Carebus__V1__Category *out)
{
    int i = enum_parse(category_names, COUNT(category_names), s);
    if (i < 0)
        return -1;
    *out = (Carebus__V1__Category)i;
    return 0;
}

const char *event_priority_name(Carebus__V1__Priority p)
{
    return enum_name(priority_names, COUNT(priority_names), (int)p);
}

int event_priority_parse(const char *s, Carebus__V1__Priority *out)
{
    int i = enum_parse(priority_names, COUNT(priority_names), s);
    if (i < 0)
        return -1;
    *out = (Carebus__V1__Priority)i;
    return 0;
}

const char *event_presence_name(Carebus__V1__Presence p)
{
    return enum_name(presence_names, COUNT(presence_names), (int)p);
}

int event_presence_parse(const char *s, Carebus__V1__Presence *out)
{
    int i = enum_parse(presence_names, COUNT(presence_names), s);
    if (i < 0)
        return -1;
    *out = (Carebus__V1__Presence)i;
    return 0;
}
