/* tickets.c — what agents and integrators do to a ticket: reply (or write
 * an internal note), with files given by URL, change its status, ask for a
 * transfer.
 *
 * Each becomes an event on the "ingest" stream with the envelope's
 * ticket_id set; the router applies it. A ticket the router does not know
 * is a 404, checked on the read queue before anything is stored (XXX: a
 * ticket opened by a contact the router has not applied yet is still a
 * 404: the integrator saw its id only once the router had made it). A key
 * bound to an agent acts as that agent whatever the body says (a body
 * naming another is 403), on that agent's or its teams' tickets only
 * unless it is a supervisor's (write_submit_ticket).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "ops.h"
#include "timeutil.h"
#include "write.h"

/* An absolute http or https URL with a host and no blanks: what courier
 * and the providers can fetch. */
static bool attachment_url_ok(const char *u)
{
    size_t scheme = strncasecmp(u, "https://", 8) == 0  ? 8
                    : strncasecmp(u, "http://", 7) == 0 ? 7
                                                        : 0;
    if (!scheme || strpbrk(u, " \t\r\n"))
        return false;
    size_t host = strcspn(u + scheme, "/?#");
    return host > 0 && u[scheme] != ':' && u[scheme] != '@';
}

/* "attachments": files the reply sends, given by URL. */
static int reply_attachments(const json_t *root, struct op *o, struct message_error *err)
{
    const json_t *arr = json_object_get(root, "attachments");
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return field_fail(err, "invalid_field", "attachments", "\"attachments\" must be an array");
    if (json_array_size(arr) > OP_MAX_ATTACHMENTS)
        return field_fail(err, "invalid_field", "attachments",
                          "\"attachments\" has more than %d items", OP_MAX_ATTACHMENTS);
    size_t i;
    const json_t *a;
    json_array_foreach(arr, i, a)
    {
        char field[64];
        Carebus__V1__Attachment *at = &o->attachments[i];
        carebus__v1__attachment__init(at);
        snprintf(field, sizeof field, "attachments[%zu]", i);
        if (!json_is_object(a))
            return field_fail(err, "invalid_field", field, "\"%s\" must be an object", field);
        snprintf(field, sizeof field, "attachments[%zu].url", i);
        if (field_string(a, "url", field, FIELD_REQUIRED, 4096, &at->url, err) != 0)
            return -1;
        if (!attachment_url_ok(at->url))
            return field_fail(err, "invalid_field", field,
                              "\"%s\" must be an http or https URL with a host", field);
        snprintf(field, sizeof field, "attachments[%zu].name", i);
        if (field_string(a, "name", field, FIELD_TEXT, 1024, &at->name, err) != 0)
            return -1;
        snprintf(field, sizeof field, "attachments[%zu].content_type", i);
        if (field_string(a, "content_type", field, FIELD_OPTIONAL, 256, &at->content_type, err) !=
            0)
            return -1;
        if (at->content_type[0] && !strchr(at->content_type, '/'))
            return field_fail(err, "invalid_field", field,
                              "\"%s\" must be a media type (\"image/jpeg\")", field);
        snprintf(field, sizeof field, "attachments[%zu].size", i);
        uint64_t size = 0;
        if (field_uint(a, "size", field, FIELD_OPTIONAL, OP_MAX_ATTACHMENT_SIZE, &size, NULL,
                       err) != 0)
            return -1;
        at->size = size;
        o->attachment_ptrs[i] = at;
    }
    o->body.reply.attachments = o->attachment_ptrs;
    o->body.reply.n_attachments = json_array_size(arr);
    return 0;
}

int tickets_reply_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                        struct message_error *err)
{
    if (op_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__AgentReplied *b = &o->body.reply;
    carebus__v1__agent_replied__init(b);
    int ch = 0;
    bool note = false;
    if (field_string(root, "agent_id", "agent_id", FIELD_REQUIRED, OP_MAX_NAME, &b->agent_id,
                     err) ||
        field_string(root, "text", "text", FIELD_REQUIRED | FIELD_TEXT, 0, &b->text, err) ||
        field_enum(root, "channel", "channel", FIELD_OPTIONAL, &carebus__v1__channel__descriptor,
                   &ch, NULL, err) ||
        field_bool(root, "internal_note", "internal_note", FIELD_OPTIONAL, &note, err) ||
        reply_attachments(root, o, err))
        return -1;
    b->channel = (Carebus__V1__Channel)ch;
    b->internal_note = note;
    o->ev.agent_replied = b;
    o->ev.ticket_id = (char *)ticket_id;
    return op_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED, now_us, err);
}

int tickets_status_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                         struct message_error *err)
{
    if (op_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__TicketStatusChanged *b = &o->body.status;
    carebus__v1__ticket_status_changed__init(b);
    int st = 0;
    if (field_enum(root, "status", "status", FIELD_REQUIRED,
                   &carebus__v1__ticket_status__descriptor, &st, NULL, err) ||
        field_string(root, "reason", "reason", FIELD_TEXT, 1024, &b->reason, err) ||
        field_string(root, "actor", "actor", FIELD_OPTIONAL, OP_MAX_NAME, &b->actor, err))
        return -1;
    b->status = (Carebus__V1__TicketStatus)st;
    o->ev.ticket_status_changed = b;
    o->ev.ticket_id = (char *)ticket_id;
    return op_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED, now_us, err);
}

int tickets_transfer_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                           struct message_error *err)
{
    if (op_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__TicketTransferRequested *b = &o->body.transfer;
    carebus__v1__ticket_transfer_requested__init(b);
    if (field_string(root, "team", "team", FIELD_REQUIRED, OP_MAX_NAME, &b->to_team, err) ||
        field_string(root, "reason", "reason", FIELD_TEXT, 1024, &b->reason, err) ||
        field_string(root, "actor", "actor", FIELD_OPTIONAL, OP_MAX_NAME, &b->actor, err))
        return -1;
    o->ev.ticket_transfer_requested = b;
    o->ev.ticket_id = (char *)ticket_id;
    return op_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFER_REQUESTED, now_us, err);
}

typedef int (*ticket_parse_fn)(const json_t *root, const char *ticket_id, int64_t now_us,
                               struct op *o, struct message_error *err);

/* The three handlers differ only in their parser and in the body's field
 * that names the agent acting. */
static http_status ticket_post(http_req *r, ingest *in, ticket_parse_fn parse, const char *as)
{
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w || !write_bind_agent(w, as))
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    struct op *o = &w->u.op;
    struct message_error err;
    if (parse(w->root, id, time_now_us(), o, &err) != 0)
        return write_reject_invalid(w, &err);
    /* A reply on a channel needs that channel; the rest needs a full key. */
    bool allowed = o->ev.body_case == CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED &&
                           o->body.reply.channel != CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED
                       ? auth_channel_ok(in->auth, r, g, o->body.reply.channel)
                       : auth_unscoped_ok(in->auth, r, g);
    if (!allowed || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    return write_submit_ticket(w, &o->ev, id, SCOPE_AGENT);
}

http_status tickets_reply_post(http_req *r, void *arg)
{
    return ticket_post(r, arg, tickets_reply_parse, "agent_id");
}

http_status tickets_status_post(http_req *r, void *arg)
{
    return ticket_post(r, arg, tickets_status_parse, "actor");
}

http_status tickets_transfer_post(http_req *r, void *arg)
{
    return ticket_post(r, arg, tickets_transfer_parse, "actor");
}
