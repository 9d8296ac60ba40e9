/* fuzz_webhook_twilio.c — webhooks/twilio.c's parser on arbitrary form
 * bodies, and the signature over whatever form they decode to. */
#include <string.h>

#include "webhooks/signature.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(webhook_twilio_parse, data, size);
    struct form f = {0};
    if (form_parse((const char *)data, size, &f) == 0) {
        char sig[SIGNATURE_TWILIO_LEN];
        assert(signature_twilio("token", "https://carebus.example/v1/webhooks/twilio/sms", &f,
                                sig) == 0);
        assert(strlen(sig) == SIGNATURE_TWILIO_LEN - 1);
        assert(signature_twilio_ok(sig, "token", "https://carebus.example/v1/webhooks/twilio/sms",
                                   &f));
    }
    form_release(&f);
    return 0;
}
