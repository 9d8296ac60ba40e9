/* fuzz_webhook_facebook.c — webhooks/facebook.c's parser on arbitrary
 * bodies, and the X-Hub-Signature-256 check on arbitrary header values. */
#include <string.h>

#include "webhooks/signature.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(webhook_facebook_parse, data, size);
    /* The same bytes as a header value (a C string: up to the first NUL). */
    char *header = strndup((const char *)data, size);
    assert(header);
    (void)signature_meta_ok(header, "fuzz-secret", (const char *)data, size);
    free(header);
    return 0;
}
