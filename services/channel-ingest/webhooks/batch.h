/* batch.h — the messages of one webhook request, and what they borrow.
 *
 * Every channel parser (facebook.c, whatsapp.c, zalo.c, twilio.c, email.c)
 * turns a request body into a batch: n contact.received messages in the
 * shape POST /v1/messages builds (struct message, messages.h), ready for the
 * group commit. A message's strings point into the parsed body (root or
 * form) or into strings the batch owns (a phone with its "+", a placeholder
 * text), so the batch must outlive the commit. Each message is allocated on
 * its own: struct message points into itself (contact.customer, the
 * attachment pointers), so messages never move.
 *
 * Parsers are pure: no I/O, no clock (now_us is given), no global state;
 * fuzz targets and unit tests call them directly.
 */
#ifndef WEBHOOK_BATCH_H
#define WEBHOOK_BATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../messages.h"
#include "form.h"

/* A request with more messages is refused (400): Meta batches at most 1,000
 * changes per delivery, and the body limit (1 MiB) comes first in practice. */
#define WEBHOOK_MAX_MESSAGES 1000
/* Longest external_id and handle kept; a longer one makes the message
 * unusable (a cut id could collide with another message's). */
#define WEBHOOK_MAX_ID 256

/* Why a body was refused: status 400 (invalid JSON, wrong shape, too many
 * messages) or 503 (out of memory). */
struct webhook_error {
    unsigned status;
    const char *code; /* the answer's error code; NULL: "invalid_json" */
    char message[192];
};

/* Sets err (message printf-style) and returns -1. */
int webhook_fail(struct webhook_error *err, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct webhook_batch {
    json_t *root;         /* owned: the JSON body */
    struct form form;     /* owned: the form body (Twilio) */
    struct message **msg; /* n owned messages */
    size_t n, cap;
    size_t ignored; /* events that are not customer messages (receipts, echoes) */
    size_t skipped; /* customer messages without a usable sender or id */
    char **strs;    /* owned strings the messages point at */
    size_t nstrs, strs_cap;
};

#define WEBHOOK_BATCH_INIT                                                                         \
    {                                                                                              \
        0                                                                                          \
    }

/* Frees everything the batch owns and resets it to empty. */
void webhook_batch_release(struct webhook_batch *b);

/* Parses body as JSON into b->root (replacing nothing: b->root must be
 * NULL). 0, or -1 with err set (not JSON, nested too deep, not an object). */
int webhook_batch_load_json(struct webhook_batch *b, const char *body, size_t len,
                            struct webhook_error *err);

/* A new, empty message of channel ch appended to b, its envelope and
 * contact initialised (idempotency scope "msg:<channel>", as POST
 * /v1/messages). NULL with err set when the batch is full (400) or out of
 * memory (503). */
struct message *webhook_batch_add(struct webhook_batch *b, Carebus__V1__Channel ch,
                                  struct webhook_error *err);

/* Drops the last message added (it turned out unusable) and counts it as
 * skipped. */
void webhook_batch_drop_last(struct webhook_batch *b);

/* Strings owned by the batch (NULL on allocation failure). */
char *webhook_batch_strdup(struct webhook_batch *b, const char *s);
char *webhook_batch_strndup(struct webhook_batch *b, const char *s, size_t n);
char *webhook_batch_printf(struct webhook_batch *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends an attachment (strings borrowed; NULL means ""). Beyond
 * MESSAGE_MAX_ATTACHMENTS the rest are dropped: a channel's message is
 * never refused for carrying many files. */
void webhook_message_attach(struct message *m, const char *name, const char *content_type,
                            uint64_t size, const char *url);

/* Completes m once its fields are set: the envelope's body, type and
 * occurred_at (occurred_us). A phone, email or handle that does not
 * normalise (identity.h) is cleared. Returns false when m is unusable: no
 * external_id or one longer than WEBHOOK_MAX_ID, or no identity left. */
bool webhook_message_finish(struct message *m, int64_t occurred_us);

/* JSON helpers over borrowed values: a member's string (NULL when absent or
 * not a string), a path of object members ("sender", "id"). */
const char *webhook_json_str(const json_t *obj, const char *key);
const json_t *webhook_json_path(const json_t *obj, const char *const *keys, size_t n);

/* A member holding an integer, or a string of digits: the Unix times of
 * channel payloads come as either. 0, or -1 when absent or not a
 * non-negative integer. */
int webhook_json_uint(const json_t *obj, const char *key, uint64_t *out);

/* Unix time in seconds or milliseconds to microseconds since the epoch;
 * out-of-range values (before 2000, after 9999) give fallback_us. */
int64_t webhook_time_from_s(uint64_t s, int64_t fallback_us);
int64_t webhook_time_from_ms(uint64_t ms, int64_t fallback_us);

#endif
