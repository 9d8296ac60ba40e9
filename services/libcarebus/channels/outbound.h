/* outbound.h — how a channel sends: the contract between courier and the
 * channel adapters.
 *
 * An adapter knows one provider (Zalo OA, the Graph Send API, WhatsApp
 * Cloud API, Twilio, SMTP): it turns a message.outbound into the exact
 * request the provider documents, and the provider's answer into one of
 * four outcomes. It does no I/O: courier performs the request (libcurl, in
 * its loop), records each attempt, and retries or fails as the outcome
 * says. So every rule of a provider — its URL, credentials, body, messaging
 * windows, error codes — lives in that channel's file under channels/, and
 * is unit-tested without a network.
 *
 * A channel with no adapter (chat, helpcenter, phone, store, tiktok,
 * twitter, or any channel an operator sets to integrator mode) is
 * delivered by courier as a message.outbound webhook to the integrator's
 * subscriptions instead.
 *
 * Credentials come from the environment (each adapter's configure), or
 * from settings stored by carebusctl, read in their place (below); rotating
 * ones (Zalo's OA tokens) courier keeps in PostgreSQL and hands in as
 * outbound_credentials. Nothing here logs a credential.
 */
#ifndef CAREBUS_CHANNELS_OUTBOUND_H
#define CAREBUS_CHANNELS_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"

#define OUTBOUND_MAX_HEADERS 16
#define OUTBOUND_MAX_RCPT 8

/* What courier hands an adapter to send. */
struct outbound_msg {
    const Carebus__V1__MessageOutbound *m; /* recipient, text, attachments, thread */
    const char *delivery_id;               /* stable across attempts */
    int64_t now_us;
    /* The customer's last message on this channel as courier saw it (0:
     * unknown; then m->last_inbound_at, if set, is used). */
    int64_t last_inbound_us;
};

/* Rotating credentials kept by courier (courier.credentials). */
struct outbound_credentials {
    char access_token[2048];
    char refresh_token[2048];
    int64_t expires_us; /* 0: unknown */
};

typedef enum outbound_proto { OUTBOUND_HTTP, OUTBOUND_SMTP } outbound_proto;

/* One request to make. Every pointer is owned (outbound_request_release). */
struct outbound_request {
    outbound_proto proto;
    char *url;          /* "https://openapi.zalo.me/v3.0/oa/message/cs", "smtp://relay:587" */
    const char *method; /* static: "POST" (HTTP) */
    char *headers[OUTBOUND_MAX_HEADERS]; /* "Name: value" */
    size_t nheaders;
    char *body; /* HTTP body, or the whole RFC 5322 message (SMTP) */
    size_t body_len;
    char *username; /* HTTP Basic or SMTP AUTH; NULL: none */
    char *password;
    /* SMTP: envelope, and STARTTLS required (never send in clear). */
    char *mail_from;
    char *rcpt[OUTBOUND_MAX_RCPT];
    size_t nrcpt;
    bool require_tls;
    /* The id the message is known by when the provider's answer names
     * none (SMTP: the Message-ID written into it); NULL otherwise.
     * outbound_classify makes it the provider message id of a SENT. */
    char *provider_message_id;
};

void outbound_request_release(struct outbound_request *r);
/* Adds "name: value" (printf-style value). 0, or -1 when full or out of
 * memory. */
int outbound_request_header(struct outbound_request *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What the provider answered, as courier saw it. */
struct outbound_response {
    long status;             /* HTTP status or SMTP reply code; 0: no answer */
    int transport_error;     /* CURLcode (0: none): timeout, connection refused ... */
    const char *retry_after; /* the Retry-After header, or NULL */
    /* HTTP: the answer's body. SMTP: the server's replies, one a line, as
     * libcurl hands them to its header callback (never the client's
     * commands, so never a credential). Not NUL-terminated. */
    const char *body;
    size_t body_len;
};

typedef enum outbound_outcome {
    OUTBOUND_SENT,   /* accepted: provider_message_id set (when the provider gives one) */
    OUTBOUND_RETRY,  /* transient: 5xx, timeout, rate limit; retry_after_ms may be set */
    OUTBOUND_FAILED, /* permanent: code and reason are the provider's own */
    OUTBOUND_REAUTH, /* the credential is invalid or expired: refresh, then retry */
} outbound_outcome;

struct outbound_result {
    outbound_outcome outcome;
    char provider_message_id[256];
    char code[48];          /* the provider's error code as text ("-230", "131047", "21610") */
    char reason[512];       /* the provider's message, or ours ("outside the 24-hour window") */
    int64_t retry_after_ms; /* -1: the provider said nothing */
};

/* Sets res to a permanent failure (code, reason printf-style). Returns -1,
 * for adapters' build functions to return. */
int outbound_fail(struct outbound_result *res, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Classification shared by HTTP providers for what is not theirs to say:
 * no answer (transport error) and 5xx are RETRY, 429 is RETRY with
 * Retry-After (seconds or an HTTP date) when given. Returns true when it
 * classified res; false when the adapter must read the body. */
bool outbound_classify_transport(const struct outbound_response *resp, int64_t now_us,
                                 struct outbound_result *res);

/* --- what every adapter of a messaging channel shares ------------------------ */

#define OUTBOUND_HOUR_US INT64_C(3600000000)
#define OUTBOUND_DAY_US (24 * OUTBOUND_HOUR_US)

/* The customer's last message on the channel: msg->last_inbound_us, else
 * the message's last_inbound_at; 0 when neither is known. */
int64_t outbound_last_inbound_us(const struct outbound_msg *msg);

/* An adapter's first checks: a recipient (who: the field of m->recipient
 * the channel addresses; NULL or empty: none) and something to send (text,
 * or attachments, each with a URL, or with a media id where flags has
 * OUTBOUND_MEDIA_IDS: the provider's own, Zalo's attachment id). 0, or -1
 * with res a permanent failure: "no_recipient" ("no recipient on
 * <channel>"), "empty_message", "attachment_without_url". */
enum { OUTBOUND_MEDIA_IDS = 1 };
int outbound_check(const struct outbound_msg *msg, const char *who, unsigned flags,
                   struct outbound_result *res);

/* The message's text, then a line for each attachment from index first on
 * ("name: url", or the URL alone), for providers that take fewer
 * attachments in one message than carebus may send. Owned; NULL when out
 * of memory. */
char *outbound_text_with_links(const Carebus__V1__MessageOutbound *m, size_t first);

/* Sets res->reason to text (a provider's message) with every occurrence of
 * secret (NULL or "": none) replaced by "[redacted]", then cut to fit at a
 * character's boundary: what a provider echoes never puts a credential, or
 * a prefix of one, on a timeline. */
void outbound_set_reason(struct outbound_result *res, const char *text, const char *secret);

struct outbound_adapter {
    const char *name; /* "zalo": logs, metrics, CAREBUS_<NAME>_* settings */
    /* Reads the settings (CAREBUS_<NAME>_*). NULL when the channel is not
     * configured (then its messages fail: "zalo is not configured"), with
     * err empty; NULL with err set when a setting is invalid (courier
     * refuses to start). */
    void *(*configure)(char *err, size_t errlen);
    void (*destroy)(void *cfg);
    /* Builds the request for msg. 0; or -1 with res set to a permanent
     * failure (no recipient, outside the messaging window, an attachment the
     * provider cannot take) — nothing is sent. cred: NULL unless the adapter
     * uses rotating credentials. */
    int (*build)(const void *cfg, const struct outbound_credentials *cred,
                 const struct outbound_msg *msg, struct outbound_request *req,
                 struct outbound_result *res);
    /* Classifies the provider's answer. Pure. */
    void (*classify)(const void *cfg, const struct outbound_response *resp, int64_t now_us,
                     struct outbound_result *res);
    /* Rotating credentials (NULL when the adapter has none): the seed from
     * the environment, the refresh request, and reading its answer (the new
     * access token, and the new refresh token when the provider rotates it).
     * 0 or -1 (err says why, never with a secret in it). */
    int (*credentials_seed)(const void *cfg, struct outbound_credentials *out);
    int (*refresh_build)(const void *cfg, const struct outbound_credentials *cred,
                         struct outbound_request *req);
    int (*refresh_parse)(const struct outbound_response *resp, int64_t now_us,
                         struct outbound_credentials *out, char *err, size_t errlen);
};

/* a->classify, then what every adapter shares: a SENT whose answer named
 * no id gets the request's provider_message_id. courier calls this rather
 * than a->classify. */
void outbound_classify(const struct outbound_adapter *a, const void *cfg,
                       const struct outbound_request *req, const struct outbound_response *resp,
                       int64_t now_us, struct outbound_result *res);

/* The adapter that sends on channel c, or NULL when c's messages go to the
 * integrator (no adapter, or CAREBUS_CHANNEL_<NAME>_MODE=integrator). */
const struct outbound_adapter *outbound_adapter_for(Carebus__V1__Channel c);

/* --- settings stored in courier.credentials (carebusctl channels set) --------
 *
 * A row of an adapter (channel = a->name) is either one of its settings,
 * named as the setting without CAREBUS_ in upper case ("TWILIO_AUTH_TOKEN"),
 * read in place of the environment's; or, for an adapter with rotating
 * credentials, "access_token" / "refresh_token" in lower case, which
 * courier rotates. */

/* The adapter of name (an adapter's name, "twilio", or a channel's, "sms"),
 * whatever the channel's mode; NULL when none. */
const struct outbound_adapter *outbound_adapter_named(const char *name);

/* The row name of key for a ("CAREBUS_twilio_auth_token" and
 * "TWILIO_AUTH_TOKEN" -> "TWILIO_AUTH_TOKEN"; for Zalo "ZALO_ACCESS_TOKEN"
 * or "access_token" -> "access_token"). 0, or -1 when key is no setting's
 * name. */
int outbound_setting_row(const struct outbound_adapter *a, const char *key, char *out, size_t size);

/* Whether a row named name is one of the settings (not a rotating
 * credential). */
bool outbound_setting_is_setting(const char *name);

/* a->configure, with the settings v (name: a setting row's name) read in
 * place of the environment's; each one read is marked used. */
void *outbound_configure_with(const struct outbound_adapter *a, struct config_setting *v, size_t n,
                              char *err, size_t errlen);

#endif
