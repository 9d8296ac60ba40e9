/* fuzz_common.h — what every channel-ingest fuzz target does with a parse.
 *
 * Each target parses its input with the production parser, then uses what
 * came out the way the service would: the message is packed as the event
 * log stores it, unpacked again, and freed (the channels' webhook parsers
 * are libcarebus's: tests/fuzz/libcarebus/fuzz_inbound.h). Everything is released before
 * returning, so LeakSanitizer (on by default under -fsanitize=fuzzer,address)
 * turns any leak into a failure.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

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

#endif
