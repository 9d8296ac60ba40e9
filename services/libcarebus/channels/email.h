/* email.h — email: inbound through Postmark's inbound webhook;
 * everything carebus knows of it, in email.c.
 */
#ifndef CAREBUS_CHANNELS_EMAIL_H
#define CAREBUS_CHANNELS_EMAIL_H

#include "inbound.h"

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

#endif
