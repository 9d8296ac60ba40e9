/* tickets.c — what agents and integrators do to a ticket: reply (or write
 * an internal note, mentioning agents), with files given by URL, change its
 * status, ask for a transfer, assign it to an agent or a team, set its
 * priority or category (overrides), tag it.
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
    if (ops_begin(o, root, err) != 0)
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
    if (field_strings(root, "mentions", "mentions", FIELD_OPTIONAL, OP_MAX_MENTIONS, OP_MAX_NAME,
                      o->mentions, &b->n_mentions, err))
        return -1;
    if (b->n_mentions && !note)
        return field_fail(err, "invalid_field", "mentions",
                          "\"mentions\" is for internal notes (\"internal_note\": true)");
    b->mentions = b->n_mentions ? o->mentions : NULL;
    b->channel = (Carebus__V1__Channel)ch;
    b->internal_note = note;
    o->ev.agent_replied = b;
    o->ev.ticket_id = (char *)ticket_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED, now_us, err);
}

int tickets_status_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                         struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
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
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED, now_us, err);
}

int tickets_transfer_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                           struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__TicketTransferRequested *b = &o->body.transfer;
    carebus__v1__ticket_transfer_requested__init(b);
    if (field_string(root, "team", "team", FIELD_REQUIRED, OP_MAX_NAME, &b->to_team, err) ||
        field_string(root, "reason", "reason", FIELD_TEXT, 1024, &b->reason, err) ||
        field_string(root, "actor", "actor", FIELD_OPTIONAL, OP_MAX_NAME, &b->actor, err))
        return -1;
    o->ev.ticket_transfer_requested = b;
    o->ev.ticket_id = (char *)ticket_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFER_REQUESTED, now_us, err);
}

int tickets_assign_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                         struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__TicketAssignRequested *b = &o->body.assign;
    carebus__v1__ticket_assign_requested__init(b);
    if (field_string(root, "agent_id", "agent_id", FIELD_OPTIONAL, OP_MAX_NAME, &b->agent_id,
                     err) ||
        field_string(root, "team", "team", FIELD_OPTIONAL, OP_MAX_NAME, &b->team, err) ||
        field_string(root, "reason", "reason", FIELD_TEXT, 1024, &b->reason, err))
        return -1;
    if (!b->agent_id[0] && !b->team[0])
        return field_fail(err, "missing_field", "",
                          "the body needs an \"agent_id\", a \"team\" or both");
    o->ev.ticket_assign_requested = b;
    o->ev.ticket_id = (char *)ticket_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGN_REQUESTED, now_us, err);
}

/* "tags_add" or "tags_remove": normalised into o->tags[k]. */
static int update_tags(const json_t *root, const char *key, int k, struct op *o, size_t *n,
                       struct message_error *err)
{
    char *given[TAG_REQUEST_MAX];
    if (field_strings(root, key, key, FIELD_OPTIONAL, TAG_REQUEST_MAX, 1024, given, n, err) != 0)
        return -1;
    for (size_t i = 0; i < *n; i++) {
        if (tag_normalise(given[i], o->tags[k][i]) != 0) {
            field_fail(err, "invalid_field", "",
                       "\"%s[%zu]\" must be a tag: 1 to %d bytes, no commas or control "
                       "characters",
                       key, i, TAG_MAX);
            snprintf(err->field, sizeof err->field, "%s[%zu]", key, i);
            return -1;
        }
        o->tag_ptrs[k][i] = o->tags[k][i];
    }
    return 0;
}

int tickets_update_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                         struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__TicketUpdateRequested *b = &o->body.update;
    carebus__v1__ticket_update_requested__init(b);
    int prio = 0, cat = 0;
    if (field_enum(root, "priority", "priority", FIELD_OPTIONAL, &carebus__v1__priority__descriptor,
                   &prio, NULL, err) ||
        field_enum(root, "category", "category", FIELD_OPTIONAL, &carebus__v1__category__descriptor,
                   &cat, NULL, err) ||
        update_tags(root, "tags_add", 0, o, &b->n_tags_add, err) ||
        update_tags(root, "tags_remove", 1, o, &b->n_tags_remove, err))
        return -1;
    b->priority = (Carebus__V1__Priority)prio;
    b->category = (Carebus__V1__Category)cat;
    /* null: the override goes, the rules decide again. */
    b->clear_priority_override = json_is_null(json_object_get(root, "priority"));
    b->clear_category_override = json_is_null(json_object_get(root, "category"));
    b->tags_add = b->n_tags_add ? o->tag_ptrs[0] : NULL;
    b->tags_remove = b->n_tags_remove ? o->tag_ptrs[1] : NULL;
    if (!prio && !cat && !b->clear_priority_override && !b->clear_category_override &&
        !b->n_tags_add && !b->n_tags_remove)
        return field_fail(err, "missing_field", "",
                          "the body needs at least one of priority, category, tags_add or "
                          "tags_remove");
    o->ev.ticket_update_requested = b;
    o->ev.ticket_id = (char *)ticket_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_TICKET_UPDATE_REQUESTED, now_us, err);
}

bool tickets_update_overrides(const struct op *o)
{
    const Carebus__V1__TicketUpdateRequested *b = &o->body.update;
    return b->priority || b->category || b->clear_priority_override || b->clear_category_override;
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

/* Assigning to a team (the queue) is an agent's work on its tickets;
 * naming an agent other than the key's own is a reassignment, the
 * supervisor's. */
http_status tickets_assign_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    struct op *o = &w->u.op;
    struct message_error err;
    if (tickets_assign_parse(w->root, id, time_now_us(), o, &err) != 0)
        return write_reject_invalid(w, &err);
    const char *agent = o->body.assign.agent_id;
    unsigned need = agent[0] && strcmp(agent, g->agent_id) != 0 ? SCOPE_SUPERVISOR : SCOPE_AGENT;
    if (!auth_allow(in->auth, r, g, need, NULL) || !auth_unscoped_ok(in->auth, r, g) ||
        !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    o->body.assign.actor = (char *)access_actor(g);
    return write_submit_ticket(w, &o->ev, id, need);
}

/* Tags are an agent's work on its tickets; priority and category
 * overrides are the supervisor's. */
http_status tickets_patch(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    struct op *o = &w->u.op;
    struct message_error err;
    if (tickets_update_parse(w->root, id, time_now_us(), o, &err) != 0)
        return write_reject_invalid(w, &err);
    unsigned need = tickets_update_overrides(o) ? SCOPE_SUPERVISOR : SCOPE_AGENT;
    if (!auth_allow(in->auth, r, g, need, NULL) || !auth_unscoped_ok(in->auth, r, g) ||
        !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    o->body.update.actor = (char *)access_actor(g);
    return write_submit_ticket(w, &o->ev, id, need);
}
