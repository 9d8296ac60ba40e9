/* ops.h — the integrator's operations events, parsed from JSON.
 *
 *   POST /v1/tickets/{id}/replies   agent.replied              (tickets.c)
 *   POST /v1/tickets/{id}/status    ticket.status_changed      (tickets.c)
 *   POST /v1/tickets/{id}/transfer  ticket.transfer_requested  (tickets.c)
 *   POST /v1/tickets/{id}/assign    ticket.assign_requested    (tickets.c)
 *   PATCH /v1/tickets/{id}          ticket.update_requested    (tickets.c)
 *   PUT  /v1/agents/{id}/presence   agent.presence             (agents.c)
 *   PUT  /v1/customers/{id}         customer.profile_updated   (customers.c)
 *   POST /v1/calls                  call.ended                 (calls.c)
 *   POST /v1/tickets/{id}/merge     ticket.merge_requested     (merges.h)
 *   POST /v1/customers/{id}/merge   customer.merge_requested   (merges.h)
 *   POST /v1/customers/{id}/unmerge customer.unmerge_requested (merges.h)
 *   POST /v1/customers/{id}/erasure customer.erasure_requested (erasure.h)
 *
 * The parsers are pure like messages_parse (unit-tested, fuzzed): a JSON
 * object and the path's id in, an envelope out, strings borrowed from the
 * JSON document and the id. Every body may carry "occurred_at" (RFC 3339;
 * default: now; for a call, its end). The path id is not checked here
 * beyond its form: the handlers check that the ticket or customer exists.
 */
#ifndef OPS_H
#define OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "field.h"
#include "tag.h"

#define OP_MAX_TEAMS 32
#define OP_MAX_ATTRIBUTES 64
#define OP_MAX_NAME 128      /* agent ids, team names */
#define OP_MAX_CAPACITY 1000 /* tickets an agent may hold at once */
/* Files a reply may send, given by URL, and the largest size declared
 * (WhatsApp's limit for a document; the providers check their own). */
#define OP_MAX_ATTACHMENTS 10
#define OP_MAX_ATTACHMENT_SIZE (100u * 1024 * 1024)
/* Agents one internal note may mention. */
#define OP_MAX_MENTIONS 20

struct op {
    event ev;
    Google__Protobuf__Timestamp occurred;
    union {
        Carebus__V1__AgentReplied reply;
        Carebus__V1__TicketStatusChanged status;
        Carebus__V1__TicketTransferRequested transfer;
        Carebus__V1__AgentPresence presence;
        Carebus__V1__CustomerProfileUpdated profile;
        Carebus__V1__CallEnded call;
        Carebus__V1__TicketAssignRequested assign;
        Carebus__V1__TicketUpdateRequested update;
        Carebus__V1__TicketMergeRequested ticket_merge;       /* merges.c */
        Carebus__V1__CustomerMergeRequested customer_merge;   /* merges.c */
        Carebus__V1__CustomerUnmergeRequested unmerge;        /* merges.c */
        Carebus__V1__CustomerErasureRequested erasure;        /* erasure.c */
        Carebus__V1__CustomerDataExported exported;           /* export.c */
        Carebus__V1__CustomerDataRead read;                   /* audit.c */
    } body;
    char *teams[OP_MAX_TEAMS];
    char *leads[OP_MAX_TEAMS];
    Carebus__V1__CustomerProfileUpdated__AttributesEntry attrs[OP_MAX_ATTRIBUTES];
    Carebus__V1__CustomerProfileUpdated__AttributesEntry *attr_ptrs[OP_MAX_ATTRIBUTES];
    Google__Protobuf__Timestamp started, answered, ended;
    Carebus__V1__Attachment attachments[OP_MAX_ATTACHMENTS];
    Carebus__V1__Attachment *attachment_ptrs[OP_MAX_ATTACHMENTS];
    char *mentions[OP_MAX_MENTIONS];
    /* tags, normalised (tag.h) */
    char tags[2][TAG_REQUEST_MAX][TAG_MAX + 1];
    char *tag_ptrs[2][TAG_REQUEST_MAX];
};

/* Shared by the parsers (ops.c): ops_begin zeroes o and checks that root is
 * an object; ops_finish reads "occurred_at" (default_us when absent) and
 * sets the envelope's body case, type and time. 0 or -1 with err set. */
int ops_begin(struct op *o, const json_t *root, struct message_error *err);
int ops_finish(struct op *o, const json_t *root, Carebus__V1__Envelope__BodyCase body,
               int64_t default_us, struct message_error *err);

/* {"agent_id","text","channel"?,"internal_note"?,"attachments"?: [{"url",
 *  "name"?,"content_type"?,"size"?}],"mentions"?: [agent ids]}: an http(s)
 *  URL with a host, at most OP_MAX_ATTACHMENTS files of at most
 *  OP_MAX_ATTACHMENT_SIZE bytes; mentions only on an internal note, at most
 *  OP_MAX_MENTIONS. */
int tickets_reply_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                        struct message_error *err);
/* {"status": open|pending|solved|closed, "reason"?, "actor"?} */
int tickets_status_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                         struct message_error *err);
/* {"team","reason"?,"actor"?} */
int tickets_transfer_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                           struct message_error *err);
/* {"agent_id"?, "team"?, "reason"?}: at least one of agent_id and team. */
int tickets_assign_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                         struct message_error *err);
/* {"priority"?: low..urgent or null, "category"?: a category or null,
 *  "tags_add"?: [tags], "tags_remove"?: [tags]}: at least one; null hands
 *  the field back to the rules; tags are normalised (tag.h). */
int tickets_update_parse(const json_t *root, const char *ticket_id, int64_t now_us, struct op *o,
                         struct message_error *err);
/* True when the update sets or clears an override (the supervisor's), not
 * only tags (an agent's). */
bool tickets_update_overrides(const struct op *o);
/* {"presence": online|away|offline, "capacity", "teams", "name"?, "leads"?};
 * agent_id must satisfy field_token_valid(agent_id, OP_MAX_NAME). */
int agents_presence_parse(const json_t *root, const char *agent_id, int64_t now_us, struct op *o,
                          struct message_error *err);
/* {"name"?, "segment"? vip|wholesale|regular, "status"? active|churned,
 *  "attributes"? {string: string}}: at least one of them. */
int customers_profile_parse(const json_t *root, const char *customer_id, int64_t now_us,
                            struct op *o, struct message_error *err);
/* {"caller","agent_id"?,"started_at","answered_at"?,"ended_at","outcome":
 *  answered|missed|abandoned|voicemail,"recording_url"?,"external_id"?,
 *  "note"?}; the caller must read as a phone number. */
int calls_parse(const json_t *root, int64_t now_us, struct op *o, struct message_error *err);

#endif
