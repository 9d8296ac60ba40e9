/* inbound.h — what comes in from a channel: the adapter every channel's
 * webhook implements, the table of adapters, and the batch of events one
 * request becomes.
 *
 * An inbound adapter knows one provider's webhook (channels/<channel>.c):
 * the settings it needs, how its requests are authenticated (a signature
 * over the raw body, or an integrator's API key for email), how its body
 * maps to events — contact.received for each customer message, and
 * message.delivered / .read / .failed for each status report — and what
 * the provider expects as a success answer (Twilio: TwiML) or as a
 * subscription handshake (Meta's GET). It does no I/O and reads no
 * configuration: channel-ingest's one webhook driver reads the settings,
 * authenticates, calls the adapter, commits the batch and answers.
 *
 * A batch's events point into the parsed body (root or form) and into
 * strings the batch owns (a phone with its "+", a placeholder text), so the
 * batch must outlive the commit. Each event is allocated on its own (it
 * points into itself), so events never move. Parsers are pure: no I/O, no
 * clock (now_us is given), no global state; fuzz targets and unit tests
 * call them directly.
 */
#ifndef CAREBUS_CHANNELS_INBOUND_H
#define CAREBUS_CHANNELS_INBOUND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contact.h"
#include "form.h"
#include "hmac.h"
#include "status.h"

/* A request with more events is refused (400): Meta batches at most 1,000
 * changes per delivery, and the body limit (1 MiB) comes first in practice. */
#define INBOUND_MAX_EVENTS 1000
/* No channel payload nests beyond a dozen levels. */
#define INBOUND_JSON_MAX_DEPTH 64
#define INBOUND_MAX_SETTINGS 4

/* --- the batch ------------------------------------------------------------ */

/* Why a request was refused: status 401 (the signature), 400 (invalid
 * JSON or form, wrong shape, too many events) or 503 (out of memory). */
struct inbound_error {
    unsigned status;
    const char *code; /* the answer's error code; NULL: the status's default */
    char message[192];
};

/* Sets err (message printf-style) and returns -1. */
int inbound_fail(struct inbound_error *err, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct inbound_batch {
    json_t *root;         /* owned: the JSON body */
    struct form form;     /* owned: the form body (Twilio) */
    struct contact **msg; /* n owned customer messages */
    size_t n, cap;
    struct status **status; /* nstatus owned status reports */
    size_t nstatus, status_cap;
    size_t ignored; /* items that are neither: echoes, postbacks, "sent" ... */
    size_t skipped; /* messages or reports without a usable sender or id */
    char **strs;    /* owned strings the events point at */
    size_t nstrs, strs_cap;
};

#define INBOUND_BATCH_INIT                                                                         \
    {                                                                                              \
        0                                                                                          \
    }

/* Frees everything the batch owns and resets it to empty. */
void inbound_batch_release(struct inbound_batch *b);

/* Loads the body: as JSON into b->root (an object, nested at most
 * INBOUND_JSON_MAX_DEPTH), or as a form into b->form (form.h's rules;
 * error code "invalid_form"). b must hold no body yet. 0, or -1 with err
 * set (400). */
int inbound_load_json(struct inbound_batch *b, const char *body, size_t len,
                      struct inbound_error *err);
int inbound_load_form(struct inbound_batch *b, const char *body, size_t len,
                      struct inbound_error *err);
/* True once a body is loaded. */
bool inbound_loaded(const struct inbound_batch *b);

/* A new, empty contact of channel ch appended to b. NULL with err set when
 * the batch is full (400) or out of memory (503). */
struct contact *inbound_add_contact(struct inbound_batch *b, Carebus__V1__Channel ch,
                                    struct inbound_error *err);
/* Completes m once its fields are set (contact_seal): a phone, email or
 * handle that does not normalise (identity.h) is cleared. False when m is
 * unusable: no external_id or one longer than CONTACT_MAX_ID, or no
 * identity left. */
bool inbound_contact_finish(struct contact *m, int64_t occurred_us);
/* Drops the last contact added (it turned out unusable), counted as
 * skipped. */
void inbound_drop_contact(struct inbound_batch *b);

/* The same for a status report of kind on channel ch (finished with
 * status_seal). */
struct status *inbound_add_status(struct inbound_batch *b, Carebus__V1__Channel ch,
                                  status_kind kind, struct inbound_error *err);
void inbound_drop_status(struct inbound_batch *b);

/* Strings owned by the batch (NULL on allocation failure). */
char *inbound_strdup(struct inbound_batch *b, const char *s);
char *inbound_strndup(struct inbound_batch *b, const char *s, size_t n);
char *inbound_printf(struct inbound_batch *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- helpers for the channels' parsers --------------------------------------- */

/* JSON over borrowed values: a member's string (NULL when absent or not a
 * string), a path of object members ("sender", "id"). */
const char *inbound_json_str(const json_t *obj, const char *key);
const json_t *inbound_json_path(const json_t *obj, const char *const *keys, size_t n);
/* A member holding an integer, or a string of digits: the Unix times of
 * channel payloads come as either. 0, or -1 when absent or not a
 * non-negative integer. */
int inbound_json_uint(const json_t *obj, const char *key, uint64_t *out);

/* Unix time in seconds or milliseconds to microseconds since the epoch;
 * out-of-range values (before 2000, after 9999) give fallback_us. */
int64_t inbound_time_from_s(uint64_t s, int64_t fallback_us);
int64_t inbound_time_from_ms(uint64_t ms, int64_t fallback_us);

/* --- helpers for the channels' signatures ------------------------------------
 * Every comparison of a secret-derived value is constant-time (hmac.h's
 * compares); what varies with the attacker's input (a header's length, its
 * hex decoding) is not secret. */

/* The header's value after a case-insensitive prefix ("sha256="), without
 * surrounding blanks; NULL when header is NULL or lacks the prefix. */
const char *inbound_header_value(const char *header, const char *prefix, size_t *len);

/* SHA-256 of the concatenated parts (Zalo signs with a plain digest). 0 or
 * -1. */
int inbound_sha256(const struct hmac_part *parts, size_t nparts, unsigned char out[32]);

/* True when a and b are the same string, in time independent of where they
 * differ (a handshake's verify token). NULL is never equal. */
bool inbound_token_equal(const char *a, const char *b);

/* --- the adapter ---------------------------------------------------------- */

/* A request as an adapter sees it. */
struct inbound_req {
    const char *body; /* raw bytes, not NUL-terminated */
    size_t len;
    /* The URL the provider called, as it signs it: the service's public URL,
     * the path and the query string (Twilio). NULL when unknown. */
    const char *url;
    const char *(*header)(void *ctx, const char *name); /* NULL when absent */
    const char *(*query)(void *ctx, const char *name);  /* decoded */
    void *ctx;
};

/* How a webhook's requests are authenticated. */
typedef enum inbound_auth {
    INBOUND_SIGNED,  /* by the provider's signature (verify) */
    INBOUND_API_KEY, /* by an integrator's API key: Bearer, or Basic's password */
} inbound_auth;

typedef int (*inbound_body_fn)(struct inbound_batch *b, const char *body, size_t len,
                               struct inbound_error *err);
typedef int (*inbound_map_fn)(struct inbound_batch *b, int64_t now_us, struct inbound_error *err);

/* Where every webhook is: INBOUND_PATH_PREFIX and the adapter's path. */
#define INBOUND_PATH_PREFIX "/v1/webhooks/"

struct inbound_adapter {
    const char *name; /* "facebook": logs, metrics' channel label */
    const char *path; /* its route below /v1/webhooks/: "facebook", "twilio/status" */
    inbound_auth auth;
    /* INBOUND_SIGNED: the settings (CAREBUS_<name>) the webhook needs, in
     * the order verify receives their values; one unset or empty: 404. */
    const char *settings[INBOUND_MAX_SETTINGS];
    /* INBOUND_SIGNED: the header carrying the signature (absent: 401). */
    const char *signature_header;
    /* INBOUND_API_KEY: the switch (CAREBUS_<toggle>, default on; off: 404)
     * and the channel the key must be allowed (403). */
    const char *toggle;
    Carebus__V1__Channel channel;
    /* The body's Content-Type, or NULL when any is taken (415). */
    const char *content_type;
    /* INBOUND_SIGNED: checks the signature. It may load the body first
     * (load) when the signature covers what the body says: Zalo's
     * timestamp, Twilio's parameters. 0, or -1 with err: 401 (err->message
     * says why, never with a secret), 400 or 503 (the body). */
    int (*verify)(const char *const *settings, const struct inbound_req *req,
                  struct inbound_batch *b, struct inbound_error *err);
    /* Loads the body, unless verify did: inbound_load_json or _form. */
    inbound_body_fn load;
    /* Maps the loaded body to events. 0: b holds them (maybe none:
     * ignored and skipped items are counted); -1: err says why (400, 503). */
    inbound_map_fn map;
    /* The success answer once every event is committed; NULL: the driver's
     * JSON ({"events":[...],"ignored":n}). */
    const char *answer_type;
    const char *answer_body;
    /* A GET subscription handshake (Meta), or NULL: the setting holding the
     * verify token (unset: 404), and the check: the challenge to echo (200
     * text/plain), or NULL to refuse (403). */
    const char *handshake_setting;
    const char *(*handshake)(const char *token, const struct inbound_req *req);
};

/* Every inbound adapter, one line per webhook (inbound.c). */
extern const struct inbound_adapter *const inbound_adapters[];
extern const size_t inbound_adapters_count;

/* The adapter of the webhook at path (below /v1/webhooks/), or NULL. */
const struct inbound_adapter *inbound_adapter_find(const char *path);

#endif
