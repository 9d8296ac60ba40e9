/* fuzz_message_json.c — POST /v1/messages JSON bodies (messages.c's
 * messages_parse), preceded by the raw-bytes depth check and the JSON load
 * the handler does (body.c, jsondepth.h). An accepted body must give a message that
 * packs and unpacks. */
#include <jansson.h>

#include "fuzz_common.h"
#include "jsondepth.h"
#include "messages.h"

#define FUZZ_JSON_MAX_DEPTH 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!jsondepth_ok((const char *)data, size, FUZZ_JSON_MAX_DEPTH))
        return 0;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return 0;
    struct contact *m = calloc(1, sizeof *m);
    assert(m);
    struct message_error err;
    if (messages_parse(root, FUZZ_NOW, m, &err) == 0)
        fuzz_pack_roundtrip(&m->ev);
    else
        assert(err.code != NULL);
    free(m);
    json_decref(root);
    return 0;
}
