/* contact.c — a contact.received event being built (see contact.h).
 *
 * protobuf-c's defaults for absent strings are its shared "", never NULL:
 * a field left unset packs as absent, and nothing here allocates.
 */
#include "contact.h"

#include <stdio.h>
#include <string.h>

void contact_init(struct contact *c, Carebus__V1__Channel ch)
{
    memset(c, 0, sizeof *c);
    carebus__v1__envelope__init(&c->ev);
    carebus__v1__contact_received__init(&c->contact);
    carebus__v1__customer_ref__init(&c->customer);
    google__protobuf__timestamp__init(&c->occurred);
    c->contact.channel = ch;
    c->contact.customer = &c->customer;
}

void contact_attach(struct contact *c, const char *name, const char *content_type, uint64_t size,
                    const char *url, const char *media_id)
{
    size_t i = c->contact.n_attachments;
    if (i == CONTACT_MAX_ATTACHMENTS)
        return;
    Carebus__V1__Attachment *a = &c->attachments[i];
    carebus__v1__attachment__init(a);
    if (name)
        a->name = (char *)name;
    if (content_type)
        a->content_type = (char *)content_type;
    if (url)
        a->url = (char *)url;
    if (media_id)
        a->media_id = (char *)media_id;
    a->size = size;
    c->attachment_ptrs[i] = a;
    c->contact.attachments = c->attachment_ptrs;
    c->contact.n_attachments = i + 1;
}

void contact_seal(struct contact *c, int64_t occurred_us)
{
    c->contact.customer = &c->customer;
    event_ts_set(&c->occurred, occurred_us);
    c->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    c->ev.contact_received = &c->contact;
    c->ev.occurred_at = &c->occurred;
    c->ev.type = (char *)event_type_name(c->ev.body_case);
    snprintf(c->idem_scope, sizeof c->idem_scope, "msg:%s", event_channel_name(c->contact.channel));
}
