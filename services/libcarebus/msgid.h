/* msgid.h — an email's msg-id (RFC 5322 "<left@right>") in its two
 * spellings, converted in one place.
 *
 * carebus stores and compares msg-ids bare ("left@right"): the inbound
 * parser's form, router.messages.external_id, every threading look-up, so
 * that a customer's In-Reply-To equals the id its parent was stored under,
 * whoever wrote it (the Postmark webhook, the API, the router's own
 * Message-ID). Headers and message.outbound carry the angle form
 * ("<left@right>"). Either function accepts either spelling.
 */
#ifndef CAREBUS_MSGID_H
#define CAREBUS_MSGID_H

#include <stddef.h>

/* s without surrounding blanks and one pair of angle brackets. 0, or -1
 * when nothing is left or it does not fit in size (out is then ""). */
int msgid_bare(const char *s, char *out, size_t size);

/* "<" bare ">". 0, or -1 as msgid_bare. */
int msgid_angle(const char *s, char *out, size_t size);

#endif
