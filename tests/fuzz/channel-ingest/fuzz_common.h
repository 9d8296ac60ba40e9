/* fuzz_common.h — what every channel-ingest fuzz target does with a parse.
 *
 * Each target parses its input with the production parser, then uses what
 * came out the way the service would: every message is packed as the event
 * log stores it, unpacked again, and freed. Everything is released before
 * returning, so LeakSanitizer (on by default under -fsanitize=fuzzer,address)
 * turns any leak into a failure.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "webhooks/parse.h"
#include "event.h"

/* A fixed clock: parsers are pure, the fuzzer must be deterministic. */
#define FUZZ_NOW INT64_C(1795399200000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_pack_roundtrip(const event *ev)
{
    size_t len = 0;
    uint8_t *buf = event_pack(ev, &len);
    assert(buf && "a parsed message must pack");
    event *back = event_unpack(buf, len);
    assert(back && "a packed message must unpack");
    assert(back->body_case == ev->body_case);
    event_destroy(&back);
    free(buf);
}

typedef int (*fuzz_parse_fn)(const char *body, size_t len, int64_t now_us, struct webhook_batch *b,
                             struct webhook_error *err);

/* Parses with fn, checks the outcome's invariants, packs every message. */
static inline void fuzz_webhook(fuzz_parse_fn fn, const uint8_t *data, size_t size)
{
    struct webhook_batch b = WEBHOOK_BATCH_INIT;
    struct webhook_error err;
    if (fn((const char *)data, size, FUZZ_NOW, &b, &err) == 0) {
        assert(b.n <= WEBHOOK_MAX_MESSAGES);
        for (size_t i = 0; i < b.n; i++) {
            const struct message *m = b.msg[i];
            assert(m->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED);
            assert(m->contact.external_id && *m->contact.external_id);
            assert(m->contact.n_attachments <= MESSAGE_MAX_ATTACHMENTS);
            fuzz_pack_roundtrip(&m->ev);
        }
    } else {
        assert(err.status == 400 || err.status == 503);
    }
    webhook_batch_release(&b);
}

#endif
