/* address.h — where a message carebus sends goes: the customer's handle on
 * its channel, the channel a reply goes on by default, and the email thread
 * it belongs to.
 *
 * The recipient is identity.h read backwards: a contact's handle on a
 * channel becomes an identity (kind, value); a message on that channel goes
 * to the customer's identity of that kind, spelt as the provider wants it
 * (a WhatsApp id is the number's digits without "+"). Among several of a
 * kind (merged customers), the newest wins, then the greatest value, so the
 * choice is a function of the log. Pure functions over the batch model's
 * rows; no I/O, no allocation.
 */
#ifndef CAREBUS_ROUTER_ADDRESS_H
#define CAREBUS_ROUTER_ADDRESS_H

#include <stddef.h>

#include "event.h"
#include "identity.h"
#include "model.h"

/* The recipient of a message.outbound (CustomerRef's handle, phone and
 * email; "" when absent). */
typedef struct address_rcpt {
    char handle[IDENTITY_VALUE_LEN]; /* PSID, Zalo user id, WhatsApp id, number, address */
    char phone[IDENTITY_VALUE_LEN];  /* E.164, for SMS, phone and WhatsApp */
    char email[IDENTITY_VALUE_LEN];  /* for email */
} address_rcpt;

/* Fills out with the identity among ids (a customer's handles) that
 * channel's messages go to: phone and SMS to the phone number, email to the
 * address, WhatsApp to its own id or else the phone number, every other
 * channel to its own handle. 0, or -1 when the customer has none there
 * (out is then all ""). */
int address_recipient(Carebus__V1__Channel channel, const m_identity *const *ids, size_t n,
                      address_rcpt *out);

/* The latest inbound message of msgs (in the log's order: at, stream, seq)
 * on channel (NULL: any channel); NULL when there is none. */
const m_message *address_last_inbound(const m_message *const *msgs, size_t n, const char *channel);

/* The customer's latest email Message-ID among msgs (the In-Reply-To of an
 * answer); NULL when none. */
const char *address_in_reply_to(const m_message *const *msgs, size_t n);

/* The email thread of msgs: the Message-IDs of its email messages, in and
 * out, oldest first, each once. At most max (>= 2) are kept: the first and
 * the latest max - 1, as mail clients trim References. out[] borrows the
 * messages' strings; returns how many. */
size_t address_references(const m_message *const *msgs, size_t n, const char **out, size_t max);

/* carebus's own Message-ID for id: "<id@domain>". */
void address_message_id(const char *id, const char *domain, char *out, size_t len);

/* An answer's subject: "Re: <subject>", or the subject itself when it is an
 * answer already ("Re: ...", "RE: ..."); "" for no subject. */
void address_subject(const char *subject, char *out, size_t len);

#endif
