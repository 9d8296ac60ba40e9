/* enums.c — carebusctl enums list: the schema's vocabulary, as this build
 * spells it.
 *
 * Every enum of events.proto with its names, values and labels (vocab.h,
 * label.h), and the event types. The --json form is what tests compare the
 * documents with (docs/openapi.yaml, the README, the SQL lists): printed
 * from the same derivation the services use, it cannot drift from them.
 * Needs no database.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carebusctl.h"
#include "label.h"
#include "vocab.h"

static json_t *enums_json(void)
{
    json_t *root = json_object(), *enums = json_object(), *types = json_array();
    if (!root || !enums || !types) {
        json_decref(root);
        json_decref(enums);
        json_decref(types);
        return NULL;
    }
    json_object_set_new(root, "enums", enums);
    json_object_set_new(root, "event_types", types);
    for (size_t e = 0; e < vocab_enum_count(); e++) {
        const ProtobufCEnumDescriptor *d = vocab_enum_at(e);
        json_t *values = json_array();
        json_object_set_new(enums, vocab_enum_key(d), values);
        for (size_t i = 0; values && i < vocab_count(d); i++) {
            int v = vocab_value(d, i);
            const char *vi = label_get(d, v, LABEL_VI), *en = label_get(d, v, LABEL_EN);
            json_array_append_new(values,
                                  json_pack("{s:s, s:i, s:s, s:{s:s?, s:s?}}", "name",
                                            vocab_name(d, v), "value", v, "proto",
                                            protobuf_c_enum_descriptor_get_value(d, v)->name,
                                            "label", "vi", vi, "en", en));
        }
    }
    for (size_t i = 0; i < vocab_event_type_count(); i++)
        json_array_append_new(types, json_string(vocab_event_type(vocab_event_type_at(i))));
    return root;
}

int enums_list(int argc, char **argv)
{
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") != 0) {
            fprintf(stderr, "carebusctl: unexpected argument \"%s\"\n", argv[i]);
            return CTL_USAGE;
        }
        json = true;
    }
    if (!json) {
        for (size_t e = 0; e < vocab_enum_count(); e++) {
            const ProtobufCEnumDescriptor *d = vocab_enum_at(e);
            printf("%s: %s\n", vocab_enum_key(d), vocab_list(d));
        }
        printf("event_type:");
        for (size_t i = 0; i < vocab_event_type_count(); i++)
            printf("%s %s", i ? "," : "", vocab_event_type(vocab_event_type_at(i)));
        printf("\n");
        return CTL_OK;
    }
    json_t *root = enums_json();
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) {
        fprintf(stderr, "carebusctl: out of memory\n");
        return CTL_FAILED;
    }
    printf("%s\n", text);
    free(text);
    return CTL_OK;
}
