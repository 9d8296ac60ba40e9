/* email.h — email: inbound through Postmark's inbound webhook (email.c),
 * outbound by SMTP submission (email_outbound.c); everything carebus knows
 * of it, in those two files.
 */
#ifndef CAREBUS_CHANNELS_EMAIL_H
#define CAREBUS_CHANNELS_EMAIL_H

#include "inbound.h"
#include "outbound.h"

/* POST /v1/webhooks/email. */
extern const struct inbound_adapter email_inbound;

/* One Postmark inbound email to a contact. email_parse loads the body
 * first (fuzz targets, unit tests). */
int email_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err);
int email_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                struct inbound_error *err);

/* RFC 5322 date-time ("Thu, 5 Apr 2012 16:59:01 +0200", day name and
 * seconds optional, obsolete zone names accepted). 0 or -1. */
int email_rfc5322_date(const char *s, int64_t *us);
/* RFC 5322's month names, "Jan" .. "Dec" (read in any case). */
extern const char *const email_months[12];

/* Sends over SMTP submission with STARTTLS (libcurl, in courier): text and
 * HTML as multipart/alternative, threaded by Message-ID, In-Reply-To and
 * References, Reply-To so that answers come back through the inbound
 * route; files are listed as links. Settings: CAREBUS_SMTP_URL
 * (smtp://host:587 or smtps://host:465; unset: not configured),
 * CAREBUS_SMTP_USER and CAREBUS_SMTP_PASSWORD, CAREBUS_EMAIL_FROM ("Name
 * <address>" or an address), CAREBUS_EMAIL_REPLY_TO. */
extern const struct outbound_adapter email_outbound;

struct buf;

/* text (UTF-8, lines ending in LF, CRLF or CR) as quoted-printable (RFC
 * 2045 6.7): CRLF lines of 76 characters at most, soft breaks "=". */
void email_outbound_qp(struct buf *b, const char *text);

/* "Name: value" and its CRLF for an unstructured header (Subject): as it
 * is when it is printable ASCII that folds at its blanks, else as RFC 2047
 * encoded words ("=?UTF-8?B?...?=", whole characters in each); folded to
 * lines of 78 characters. Control characters become blanks (no header
 * can be smuggled in), ill-formed UTF-8 U+FFFD. */
void email_outbound_unstructured(struct buf *b, const char *name, const char *value);

#endif
