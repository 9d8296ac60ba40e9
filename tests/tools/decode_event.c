/* decode_event.c — reads one packed carebus.v1.Envelope on stdin and prints
 * it as one JSON object on stdout, for the interop test's reverse direction
 * (Python encodes with protoc's code, the C library decodes).
 *
 * Only what the test needs is printed: every envelope field, and the bodies
 * contact_received and survey_answered in full (wrapper scores as null when
 * absent, so "absent" and "zero" stay apart); other bodies print their type
 * name only. Timestamps print as {"seconds","nanos"} or null. Exits 1 when
 * the input is not a valid envelope (event_unpack refuses it), 2 on misuse.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "event.h"

static json_t *ts_json(const Google__Protobuf__Timestamp *ts)
{
    if (ts == NULL)
        return json_null();
    return json_pack("{s:I,s:i}", "seconds", (json_int_t)ts->seconds, "nanos", (int)ts->nanos);
}

static json_t *int32_json(const Google__Protobuf__Int32Value *v)
{
    return v != NULL ? json_integer(v->value) : json_null();
}

static json_t *contact_json(const Carebus__V1__ContactReceived *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "channel", json_string(event_channel_name(c->channel)));
    json_object_set_new(o, "external_id", json_string(c->external_id));
    if (c->customer != NULL)
        json_object_set_new(o, "customer",
                            json_pack("{s:s,s:s,s:s,s:s}", "name", c->customer->name, "phone",
                                      c->customer->phone, "email", c->customer->email,
                                      "handle", c->customer->handle));
    else
        json_object_set_new(o, "customer", json_null());
    json_object_set_new(o, "text", json_string(c->text));
    json_object_set_new(o, "subject", json_string(c->subject));
    json_t *atts = json_array();
    for (size_t i = 0; i < c->n_attachments; i++) {
        const Carebus__V1__Attachment *a = c->attachments[i];
        /* The size may exceed 2^53 in theory; JSON integers here are int64. */
        json_array_append_new(atts, json_pack("{s:s,s:s,s:I,s:s}", "name", a->name,
                                              "content_type", a->content_type, "size",
                                              (json_int_t)a->size, "url", a->url));
    }
    json_object_set_new(o, "attachments", atts);
    json_object_set_new(o, "in_reply_to", json_string(c->in_reply_to));
    json_t *refs = json_array();
    for (size_t i = 0; i < c->n_references; i++)
        json_array_append_new(refs, json_string(c->references[i]));
    json_object_set_new(o, "references", refs);
    return o;
}

static json_t *survey_json(const Carebus__V1__SurveyAnswered *s)
{
    return json_pack("{s:s,s:o,s:o,s:s}", "survey_id", s->survey_id, "csat",
                     int32_json(s->csat), "ces", int32_json(s->ces), "comment", s->comment);
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: decode_event < envelope.bin\n");
        return 2;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return 1;
    for (;;) {
        if (len == cap) {
            if (cap > EVENT_MAX_SIZE) /* event_unpack would refuse it anyway */
                break;
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                return 1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, stdin);
        len += n;
        if (n == 0)
            break;
    }
    event *ev = event_unpack(buf, len);
    free(buf);
    if (ev == NULL) {
        fprintf(stderr, "decode_event: could not unpack %zu bytes as an envelope\n", len);
        return 1;
    }

    json_t *o = json_object();
    json_object_set_new(o, "event_id", json_string(ev->event_id));
    json_object_set_new(o, "type", json_string(ev->type));
    json_object_set_new(o, "stream", json_string(ev->stream));
    json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
    json_object_set_new(o, "occurred_at", ts_json(ev->occurred_at));
    json_object_set_new(o, "recorded_at", ts_json(ev->recorded_at));
    json_object_set_new(o, "idempotency_key", json_string(ev->idempotency_key));
    json_object_set_new(o, "customer_id", json_string(ev->customer_id));
    json_object_set_new(o, "ticket_id", json_string(ev->ticket_id));
    json_object_set_new(o, "causation_id", json_string(ev->causation_id));
    const char *body = event_type_name(ev->body_case);
    json_object_set_new(o, "body", body != NULL ? json_string(body) : json_null());
    switch (ev->body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED:
        json_object_set_new(o, "contact_received", contact_json(ev->contact_received));
        break;
    case CAREBUS__V1__ENVELOPE__BODY_SURVEY_ANSWERED:
        json_object_set_new(o, "survey_answered", survey_json(ev->survey_answered));
        break;
    default:
        break;
    }
    event_destroy(&ev);

    int rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS) == 0 ? 0 : 1;
    json_decref(o);
    if (rc == 0 && (fputc('\n', stdout) == EOF || fflush(stdout) != 0))
        rc = 1;
    return rc;
}
