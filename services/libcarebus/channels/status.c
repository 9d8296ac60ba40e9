/* status.c — a provider's status report as an event (see status.h).
 *
 * The idempotency key is derived from what the provider says, never from
 * when it said it: a redelivered webhook carries the same ids (or the same
 * recipient and watermark) and so lands on the first event. A receipt's
 * own time is not part of the key, since Meta stamps a redelivery anew.
 */
#include "status.h"

#include <assert.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "hex.h"

static const char *const kind_names[] = {
    [STATUS_DELIVERED] = "delivered",
    [STATUS_READ] = "read",
    [STATUS_FAILED] = "failed",
};

const char *status_kind_name(status_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "";
}

void status_init(struct status *s, Carebus__V1__Channel ch, status_kind kind)
{
    assert((unsigned)kind < sizeof kind_names / sizeof kind_names[0]);
    memset(s, 0, sizeof *s);
    carebus__v1__envelope__init(&s->ev);
    carebus__v1__message_delivered__init(&s->delivered);
    carebus__v1__message_read__init(&s->read);
    carebus__v1__message_failed__init(&s->failed);
    google__protobuf__timestamp__init(&s->occurred);
    google__protobuf__timestamp__init(&s->watermark);
    s->kind = kind;
    s->channel = ch;
}

bool status_add_id(struct status *s, const char *id)
{
    if (!id || !*id || strlen(id) > STATUS_MAX_ID || s->nids == STATUS_MAX_IDS)
        return false;
    s->ids[s->nids++] = (char *)id;
    return true;
}

/* The key's text after "<kind>:", into b. */
static void status_key_text(const struct status *s, buf *b)
{
    if (s->watermark_us) {
        buf_printf(b, "%s@%" PRId64, s->recipient ? s->recipient : "", s->watermark_us / 1000);
        return;
    }
    for (size_t i = 0; i < s->nids; i++) {
        if (i)
            buf_putc(b, ',');
        buf_puts(b, s->ids[i]);
    }
}

static bool status_key(struct status *s)
{
    const char *kind = status_kind_name(s->kind);
    buf b = BUF_INIT;
    status_key_text(s, &b);
    bool ok = !b.failed;
    if (ok && strlen(kind) + 1 + b.len <= STATUS_KEY_MAX) {
        snprintf(s->idem_key, sizeof s->idem_key, "%s:%s", kind, buf_str(&b));
    } else if (ok) {
        unsigned char md[32];
        unsigned int n = 0;
        char hex[2 * sizeof md + 1];
        ok = EVP_Digest(buf_str(&b), b.len, md, &n, EVP_sha256(), NULL) == 1 && n == sizeof md;
        if (ok) {
            hex_encode(md, sizeof md, hex);
            snprintf(s->idem_key, sizeof s->idem_key, "%s:sha256:%s", kind, hex);
        }
    }
    buf_release(&b);
    return ok;
}

bool status_seal(struct status *s, int64_t occurred_us)
{
    if (s->kind == STATUS_FAILED ? s->nids == 0 : (s->nids == 0 && s->watermark_us == 0))
        return false;
    if (!status_key(s))
        return false;
    snprintf(s->idem_scope, sizeof s->idem_scope, "status:%s", event_channel_name(s->channel));
    char *recipient = (char *)(s->recipient ? s->recipient : protobuf_c_empty_string);
    Google__Protobuf__Timestamp *wm = NULL;
    if (s->watermark_us) {
        event_ts_set(&s->watermark, s->watermark_us);
        wm = &s->watermark;
    }
    switch (s->kind) {
    case STATUS_DELIVERED:
        s->delivered.channel = s->channel;
        s->delivered.provider_message_ids = s->ids;
        s->delivered.n_provider_message_ids = s->nids;
        s->delivered.recipient = recipient;
        s->delivered.watermark = wm;
        s->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED;
        s->ev.message_delivered = &s->delivered;
        break;
    case STATUS_READ:
        s->read.channel = s->channel;
        s->read.provider_message_ids = s->ids;
        s->read.n_provider_message_ids = s->nids;
        s->read.recipient = recipient;
        s->read.watermark = wm;
        s->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ;
        s->ev.message_read = &s->read;
        break;
    case STATUS_FAILED:
        s->failed.channel = s->channel;
        s->failed.provider_message_id = s->ids[0];
        if (s->code)
            s->failed.code = (char *)s->code;
        if (s->reason)
            s->failed.reason = (char *)s->reason;
        s->failed.permanent = s->permanent;
        s->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED;
        s->ev.message_failed = &s->failed;
        break;
    }
    event_ts_set(&s->occurred, occurred_us);
    s->ev.occurred_at = &s->occurred;
    s->ev.type = (char *)event_type_name(s->ev.body_case);
    return true;
}
