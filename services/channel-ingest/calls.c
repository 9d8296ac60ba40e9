/* calls.c — POST /v1/calls: a finished call from the call centre's switch.
 *
 * It becomes a call.ended event, which the router files as a phone contact
 * on the caller's history, so the caller must read as a phone number (the
 * same rule as a message's customer.phone). The call's own id
 * (external_id) makes it idempotent across API keys, like a message's; the
 * times must be in order: started <= answered <= ended.
 */
#include "identity.h"
#include "ingest.h"
#include "ops.h"
#include "timeutil.h"
#include "write.h"

int calls_parse(const json_t *root, int64_t now_us, struct op *o, struct message_error *err)
{
    (void)now_us; /* a call's time is its end */
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__CallEnded *b = &o->body.call;
    carebus__v1__call_ended__init(b);
    google__protobuf__timestamp__init(&o->started);
    google__protobuf__timestamp__init(&o->answered);
    google__protobuf__timestamp__init(&o->ended);
    int64_t started = 0, answered = 0, ended = 0;
    bool has_answered = false;
    int outcome = 0;
    if (field_string(root, "caller", "caller", FIELD_REQUIRED, 64, &b->caller, err) ||
        field_string(root, "agent_id", "agent_id", FIELD_OPTIONAL, OP_MAX_NAME, &b->agent_id,
                     err) ||
        field_time(root, "started_at", "started_at", FIELD_REQUIRED, &started, NULL, err) ||
        field_time(root, "answered_at", "answered_at", FIELD_OPTIONAL, &answered, &has_answered,
                   err) ||
        field_time(root, "ended_at", "ended_at", FIELD_REQUIRED, &ended, NULL, err) ||
        field_enum(root, "outcome", "outcome", FIELD_REQUIRED,
                   &carebus__v1__call_outcome__descriptor, &outcome, NULL, err) ||
        field_string(root, "recording_url", "recording_url", FIELD_OPTIONAL, 4096,
                     &b->recording_url, err) ||
        field_string(root, "external_id", "external_id", FIELD_OPTIONAL, 256, &b->external_id,
                     err) ||
        field_string(root, "note", "note", FIELD_TEXT, 4096, &b->note, err))
        return -1;
    char e164[IDENTITY_PHONE_LEN];
    if (identity_phone(b->caller, NULL, e164) != 0)
        return field_fail(err, "invalid_field", "caller",
                          "could not read \"caller\" as a phone number");
    if (ended < started)
        return field_fail(err, "invalid_field", "ended_at",
                          "\"ended_at\" must not be before \"started_at\"");
    if (has_answered && (answered < started || answered > ended))
        return field_fail(err, "invalid_field", "answered_at",
                          "\"answered_at\" must be between \"started_at\" and \"ended_at\"");
    event_ts_set(&o->started, started);
    event_ts_set(&o->ended, ended);
    b->started_at = &o->started;
    b->ended_at = &o->ended;
    if (has_answered) {
        event_ts_set(&o->answered, answered);
        b->answered_at = &o->answered;
    }
    b->outcome = (Carebus__V1__CallOutcome)outcome;
    o->ev.call_ended = b;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_CALL_ENDED, ended, err);
}

http_status calls_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    struct op *o = &w->u.op;
    struct message_error err;
    if (calls_parse(w->root, time_now_us(), o, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!auth_channel_ok(in->auth, r, g, CAREBUS__V1__CHANNEL__CHANNEL_PHONE))
        return HTTP_DONE;
    if (o->body.call.external_id[0]) {
        w->entry.idem_scope = "call";
        w->entry.idem_key = o->body.call.external_id;
    } else if (!write_idempotency(w, g, NULL)) {
        return HTTP_DONE;
    }
    return write_submit(w, &o->ev);
}
