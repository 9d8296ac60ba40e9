/* fuzz_email.c — channels/email.c's parser (Postmark inbound JSON) on
 * arbitrary bodies, and its RFC 5322 date parser on arbitrary strings. */
#include <string.h>

#include "channels/email.h"
#include "fuzz_inbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_webhook(email_parse, data, size);
    char *s = strndup((const char *)data, size);
    assert(s);
    int64_t us;
    if (email_rfc5322_date(s, &us) == 0)
        assert(us > INT64_C(-86400000000) && us < INT64_C(253402387200000000));
    free(s);
    return 0;
}
