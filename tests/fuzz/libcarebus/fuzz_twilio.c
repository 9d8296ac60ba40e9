/* fuzz_twilio.c — channels/twilio.c's parsers (incoming messages and
 * status callbacks) on arbitrary form bodies, and the signature over
 * whatever form they decode to. */
#include <string.h>

#include "channels/twilio.h"
#include "fuzz_inbound.h"

#define FUZZ_URL "https://carebus.example/v1/webhooks/twilio/sms"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(twilio_sms_parse, data, size);
    fuzz_webhook(twilio_status_parse, data, size);
    struct form f = {0};
    if (form_parse((const char *)data, size, &f) == 0) {
        char sig[TWILIO_SIGNATURE_LEN];
        assert(twilio_signature("token", FUZZ_URL, &f, sig) == 0);
        assert(strlen(sig) == TWILIO_SIGNATURE_LEN - 1);
        assert(twilio_signature_ok(sig, "token", FUZZ_URL, &f));
    }
    form_release(&f);
    return 0;
}
