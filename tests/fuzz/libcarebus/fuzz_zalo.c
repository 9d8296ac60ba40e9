/* fuzz_zalo.c — channels/zalo.c's parser (messages and receipts) on
 * arbitrary bodies, with the signature input it derives (the payload's
 * timestamp) and the X-ZEvent-Signature check. */
#include <string.h>

#include "channels/zalo.h"
#include "fuzz_inbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(zalo_parse, data, size);
    struct inbound_batch b = INBOUND_BATCH_INIT;
    struct inbound_error err;
    if (inbound_load_json(&b, (const char *)data, size, &err) == 0) {
        char buf[32];
        const char *ts = zalo_timestamp(b.root, buf, sizeof buf);
        /* A random header never matches a SHA-256. */
        (void)zalo_signature_ok("mac=00", "360846", (const char *)data, size, ts, "secret");
    }
    inbound_batch_release(&b);
    return 0;
}
