/* fuzz_whatsapp.c — channels/whatsapp.c's parser (messages and statuses)
 * on arbitrary bodies. */
#include "channels/whatsapp.h"
#include "fuzz_inbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(whatsapp_parse, data, size);
    return 0;
}
