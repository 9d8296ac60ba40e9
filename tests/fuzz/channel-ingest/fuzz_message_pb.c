/* fuzz_message_pb.c — POST /v1/messages protobuf bodies (messages.c's
 * messages_parse_pb: a packed carebus.v1.Envelope), and event_unpack, which
 * every bus and event-log reader uses, on the same bytes. */
#include "fuzz_common.h"
#include "messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct contact *m = calloc(1, sizeof *m);
    assert(m);
    event *owned = NULL;
    struct message_error err;
    if (messages_parse_pb(data, size, FUZZ_NOW, m, &owned, &err) == 0) {
        assert(owned);
        fuzz_pack_roundtrip(&m->ev);
        event_destroy(&owned);
    } else {
        assert(!owned && err.code != NULL);
    }
    free(m);
    event *ev = event_unpack(data, size);
    if (ev) {
        size_t len = 0;
        uint8_t *buf = event_pack(ev, &len);
        assert(buf);
        free(buf);
        event_destroy(&ev);
    }
    return 0;
}
