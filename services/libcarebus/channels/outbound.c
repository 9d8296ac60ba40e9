/* outbound.c — the adapters' table and what every adapter shares.
 *
 * The table says which adapter sends on which channel; a channel without
 * one (or set to integrator mode by CAREBUS_CHANNEL_<NAME>_MODE) is the
 * integrator's. Retry-After is read here once for every HTTP provider: a
 * number of seconds or an HTTP date (RFC 9110), never earlier than now.
 */
#include "outbound.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "email.h"
#include "messenger.h"
#include "twilio.h"
#include "utf8.h"
#include "whatsapp.h"
#include "zalo.h"

/* Channel -> adapter. An adapter's file adds its line here. */
static const struct {
    Carebus__V1__Channel channel;
    const struct outbound_adapter *adapter;
} outbound_table[] = {
    {CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED, NULL},
    {CAREBUS__V1__CHANNEL__CHANNEL_ZALO, &zalo_outbound},
    {CAREBUS__V1__CHANNEL__CHANNEL_EMAIL, &email_outbound},
    {CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK, &messenger_facebook_outbound},
    {CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM, &messenger_instagram_outbound},
    {CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, &whatsapp_outbound},
    {CAREBUS__V1__CHANNEL__CHANNEL_SMS, &twilio_sms_outbound},
};

const struct outbound_adapter *outbound_adapter_for(Carebus__V1__Channel c)
{
    char var[64];
    const char *name = event_channel_name(c);
    if (!name[0])
        return NULL;
    snprintf(var, sizeof var, "CHANNEL_%s_MODE", name);
    for (char *p = var; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    const char *mode = config_str(var, NULL);
    if (mode && strcmp(mode, "integrator") == 0)
        return NULL;
    for (size_t i = 0; i < sizeof outbound_table / sizeof outbound_table[0]; i++)
        if (outbound_table[i].channel == c)
            return outbound_table[i].adapter;
    return NULL;
}

const struct outbound_adapter *outbound_adapter_named(const char *name)
{
    for (size_t i = 0; i < sizeof outbound_table / sizeof outbound_table[0]; i++) {
        const struct outbound_adapter *a = outbound_table[i].adapter;
        if (a && (strcmp(a->name, name) == 0 ||
                  strcmp(event_channel_name(outbound_table[i].channel), name) == 0))
            return a;
    }
    return NULL;
}

int outbound_setting_row(const struct outbound_adapter *a, const char *key, char *out, size_t size)
{
    if (strncasecmp(key, "CAREBUS_", 8) == 0)
        key += 8;
    size_t n = strlen(key);
    if (n == 0 || n >= size || n >= 96 || !isalpha((unsigned char)key[0]))
        return -1;
    for (size_t i = 0; i <= n; i++) {
        if (key[i] && !isalnum((unsigned char)key[i]) && key[i] != '_')
            return -1;
        out[i] = (char)toupper((unsigned char)key[i]);
    }
    if (a->refresh_build) {
        /* The rotating pair: "ACCESS_TOKEN" or "<NAME>_ACCESS_TOKEN". */
        static const char *const rotating[] = {"access_token", "refresh_token"};
        size_t pre = strlen(a->name);
        for (size_t i = 0; i < 2; i++) {
            const char *r = rotating[i];
            const char *k = out;
            if (strncasecmp(k, a->name, pre) == 0 && k[pre] == '_')
                k += pre + 1;
            if (strcasecmp(k, r) == 0) {
                snprintf(out, size, "%s", r);
                return 0;
            }
        }
    }
    return 0;
}

bool outbound_setting_is_setting(const char *name)
{
    return !islower((unsigned char)name[0]);
}

void *outbound_configure_with(const struct outbound_adapter *a, struct config_setting *v, size_t n,
                              char *err, size_t errlen)
{
    config_overlay(v, n);
    void *cfg = a->configure(err, errlen);
    config_overlay(NULL, 0);
    return cfg;
}

void outbound_request_release(struct outbound_request *r)
{
    free(r->url);
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i]);
    free(r->body);
    free(r->username);
    free(r->password);
    free(r->mail_from);
    for (size_t i = 0; i < r->nrcpt; i++)
        free(r->rcpt[i]);
    free(r->provider_message_id);
    memset(r, 0, sizeof *r);
}

int outbound_request_header(struct outbound_request *r, const char *name, const char *fmt, ...)
{
    if (r->nheaders == OUTBOUND_MAX_HEADERS)
        return -1;
    char value[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof value)
        return -1;
    char *h = NULL;
    if (asprintf(&h, "%s: %s", name, value) < 0)
        return -1;
    r->headers[r->nheaders++] = h;
    return 0;
}

int outbound_fail(struct outbound_result *res, const char *code, const char *fmt, ...)
{
    res->outcome = OUTBOUND_FAILED;
    snprintf(res->code, sizeof res->code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof res->reason, fmt, ap);
    va_end(ap);
    return -1;
}

/* Retry-After as milliseconds from now: delta-seconds or an IMF-fixdate;
 * -1 when absent or unreadable. */
static int64_t outbound_retry_after_ms(const char *v, int64_t now_us)
{
    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (isdigit((unsigned char)*v)) {
        char *end;
        long long s = strtoll(v, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end || s < 0 || s > 7 * 86400)
            return -1;
        return (int64_t)s * 1000;
    }
    struct tm tm = {0};
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    int64_t at_ms = (int64_t)timegm(&tm) * 1000;
    int64_t d = at_ms - now_us / 1000;
    return d > 0 ? d : 0;
}

bool outbound_classify_transport(const struct outbound_response *resp, int64_t now_us,
                                 struct outbound_result *res)
{
    res->retry_after_ms = outbound_retry_after_ms(resp->retry_after, now_us);
    if (resp->transport_error || resp->status == 0) {
        res->outcome = OUTBOUND_RETRY;
        snprintf(res->code, sizeof res->code, "transport");
        snprintf(res->reason, sizeof res->reason, "no answer (curl error %d)",
                 resp->transport_error);
        return true;
    }
    if (resp->status == 429 || resp->status >= 500) {
        res->outcome = OUTBOUND_RETRY;
        snprintf(res->code, sizeof res->code, "http_%ld", resp->status);
        snprintf(res->reason, sizeof res->reason, "the provider answered %ld", resp->status);
        return true;
    }
    return false;
}

void outbound_classify(const struct outbound_adapter *a, const void *cfg,
                       const struct outbound_request *req, const struct outbound_response *resp,
                       int64_t now_us, struct outbound_result *res)
{
    a->classify(cfg, resp, now_us, res);
    if (res->outcome == OUTBOUND_SENT && !res->provider_message_id[0] && req &&
        req->provider_message_id)
        snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s",
                 req->provider_message_id);
}

/* --- what every adapter of a messaging channel shares ------------------------ */

int64_t outbound_last_inbound_us(const struct outbound_msg *msg)
{
    if (msg->last_inbound_us > 0)
        return msg->last_inbound_us;
    if (msg->m->last_inbound_at)
        return event_ts_us(msg->m->last_inbound_at);
    return 0;
}

int outbound_check(const struct outbound_msg *msg, const char *who, unsigned flags,
                   struct outbound_result *res)
{
    const Carebus__V1__MessageOutbound *m = msg->m;
    if (!who || !*who)
        return outbound_fail(res, "no_recipient", "no recipient on %s",
                             event_channel_name(m->channel));
    for (size_t i = 0; i < m->n_attachments; i++) {
        const Carebus__V1__Attachment *a = m->attachments[i];
        bool by_id = (flags & OUTBOUND_MEDIA_IDS) && a->media_id && *a->media_id;
        if ((!a->url || !*a->url) && !by_id)
            return outbound_fail(res, "attachment_without_url", "attachment \"%s\" has no URL",
                                 a->name && *a->name ? a->name : "(no name)");
    }
    if ((!m->text || !*m->text) && m->n_attachments == 0)
        return outbound_fail(res, "empty_message", "nothing to send: no text and no attachment");
    return 0;
}

char *outbound_text_with_links(const Carebus__V1__MessageOutbound *m, size_t first)
{
    buf b = BUF_INIT;
    buf_puts(&b, m->text ? m->text : "");
    for (size_t i = first; i < m->n_attachments; i++) {
        const Carebus__V1__Attachment *a = m->attachments[i];
        if (b.len)
            buf_putc(&b, '\n');
        if (a->name && *a->name)
            buf_printf(&b, "%s: ", a->name);
        buf_puts(&b, a->url ? a->url : "");
    }
    if (b.failed) {
        buf_release(&b);
        return NULL;
    }
    size_t len;
    char *s = buf_detach(&b, &len);
    return s ? s : strdup("");
}

void outbound_set_reason(struct outbound_result *res, const char *text, const char *secret)
{
    buf b = BUF_INIT;
    size_t sl = secret ? strlen(secret) : 0;
    const char *p = text ? text : "";
    while (*p) {
        const char *hit = sl ? strstr(p, secret) : NULL;
        if (!hit) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(hit - p));
        buf_puts(&b, "[redacted]");
        p = hit + sl;
    }
    /* Redacted before it is cut, so that no prefix of the secret survives. */
    utf8_copy(res->reason, sizeof res->reason,
              b.failed ? "(out of memory: the provider's message is lost)" : buf_str(&b), "?");
    buf_release(&b);
}
