/* fuzz_messenger.c — channels/messenger.c's parser (messages and receipts)
 * on arbitrary bodies, and the X-Hub-Signature-256 check (meta.c) on
 * arbitrary header values. */
#include <string.h>

#include "channels/messenger.h"
#include "channels/meta.h"
#include "fuzz_inbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(messenger_parse, data, size);
    /* The same bytes as a header value (a C string: up to the first NUL). */
    char *header = strndup((const char *)data, size);
    assert(header);
    (void)meta_signature_ok(header, "fuzz-secret", (const char *)data, size);
    free(header);
    return 0;
}
