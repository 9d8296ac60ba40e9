/* fuzz_webhook_zalo.c — webhooks/zalo.c's parser on arbitrary bodies, with
 * the signature input it derives (the payload's timestamp) and the
 * X-ZEvent-Signature check. */
#include <string.h>

#include "webhooks/signature.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(webhook_zalo_parse, data, size);
    struct webhook_batch b = WEBHOOK_BATCH_INIT;
    struct webhook_error err;
    if (webhook_batch_load_json(&b, (const char *)data, size, &err) == 0) {
        char buf[32];
        const char *ts = webhook_zalo_timestamp(b.root, buf, sizeof buf);
        /* A random header never matches a SHA-256. */
        (void)signature_zalo_ok("mac=00", "360846", (const char *)data, size, ts, "secret");
    }
    webhook_batch_release(&b);
    return 0;
}
