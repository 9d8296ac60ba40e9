/* fuzz_inbound.h — what every channel's fuzz target does with a parse.
 *
 * Each target parses its input with the production parser (channels/
 * <channel>.c), then uses what came out the way channel-ingest would:
 * every contact and status is packed as the event log stores it, unpacked
 * again, and freed, and each keeps its invariants (an id, a key that fits
 * the index, the right body). Everything is released before returning, so
 * LeakSanitizer (on by default under -fsanitize=fuzzer,address) turns any
 * leak into a failure.
 */
#ifndef FUZZ_INBOUND_H
#define FUZZ_INBOUND_H

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channels/inbound.h"
#include "event.h"

/* A fixed clock: parsers are pure, the fuzzer must be deterministic. */
#define FUZZ_NOW INT64_C(1795399200000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_pack_roundtrip(const event *ev)
{
    size_t len = 0;
    uint8_t *buf = event_pack(ev, &len);
    assert(buf && "a parsed event must pack");
    event *back = event_unpack(buf, len);
    assert(back && "a packed event must unpack");
    assert(back->body_case == ev->body_case);
    event_destroy(&back);
    free(buf);
}

typedef int (*fuzz_parse_fn)(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                             struct inbound_error *err);

/* Parses with fn, checks the outcome's invariants, packs every event. */
static inline void fuzz_webhook(fuzz_parse_fn fn, const uint8_t *data, size_t size)
{
    struct inbound_batch b = INBOUND_BATCH_INIT;
    struct inbound_error err;
    if (fn((const char *)data, size, FUZZ_NOW, &b, &err) == 0) {
        assert(b.n + b.nstatus <= INBOUND_MAX_EVENTS);
        for (size_t i = 0; i < b.n; i++) {
            const struct contact *m = b.msg[i];
            assert(m->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED);
            assert(m->contact.external_id && *m->contact.external_id);
            assert(m->contact.n_attachments <= CONTACT_MAX_ATTACHMENTS);
            fuzz_pack_roundtrip(&m->ev);
        }
        for (size_t i = 0; i < b.nstatus; i++) {
            const struct status *s = b.status[i];
            assert(s->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED ||
                   s->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ ||
                   s->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED);
            assert(strncmp(s->idem_scope, "status:", 7) == 0);
            assert(*s->idem_key && strlen(s->idem_key) <= STATUS_KEY_MAX);
            assert(s->nids > 0 || s->watermark_us > 0);
            fuzz_pack_roundtrip(&s->ev);
        }
    } else {
        assert(err.status == 400 || err.status == 503);
    }
    inbound_batch_release(&b);
}

#endif
