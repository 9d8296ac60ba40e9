/* fuzz_webhook_whatsapp.c — webhooks/whatsapp.c's parser on arbitrary bodies. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(webhook_whatsapp_parse, data, size);
    return 0;
}
