/* ops.c — what the operations parsers share: the envelope around a body. */
#include "ops.h"

#include <string.h>

int ops_begin(struct op *o, const json_t *root, struct message_error *err)
{
    memset(o, 0, sizeof *o);
    carebus__v1__envelope__init(&o->ev);
    google__protobuf__timestamp__init(&o->occurred);
    if (field_object(root, err))
        return -1;
    return 0;
}

int ops_finish(struct op *o, const json_t *root, Carebus__V1__Envelope__BodyCase body,
               int64_t default_us, struct message_error *err)
{
    int64_t at = default_us;
    if (field_time(root, "occurred_at", "occurred_at", FIELD_OPTIONAL, &at, NULL, err) != 0)
        return -1;
    event_ts_set(&o->occurred, at);
    o->ev.occurred_at = &o->occurred;
    o->ev.body_case = body;
    o->ev.type = (char *)event_type_name(body);
    return 0;
}
