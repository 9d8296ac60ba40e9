/* identity.h — customer handles, normalised so that one customer is one
 * customer on every channel.
 *
 * An identity is a (kind, value) pair, the key of router.identities:
 *
 *   "phone"     E.164: "+84901234567" (every common spelling maps here)
 *   "email"     trimmed and lower-cased: "lan.nguyen@example.vn"
 *   <channel>   that channel's own user id, trimmed, case kept: ("zalo",
 *               "4120978365"), ("facebook", "2519...") — ids are opaque and
 *               some (TikTok open_id) are case-sensitive
 *
 * Pure functions: no I/O, no allocation, results in caller-provided
 * buffers. A rejected input leaves the output unspecified.
 */
#ifndef CAREBUS_IDENTITY_H
#define CAREBUS_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

#define IDENTITY_KIND_LEN 16
/* Values are at most 255 bytes; a longer handle is rejected, not cut (a cut
 * id could match someone else). */
#define IDENTITY_VALUE_LEN 256
/* "+", at most 15 digits (E.164), NUL. */
#define IDENTITY_PHONE_LEN 17
/* National numbers (no country code) are read as this country's. */
#define IDENTITY_DEFAULT_COUNTRY "VN"
/* A contact carries at most a phone, an email and a channel handle. */
#define IDENTITY_SET_MAX 3

struct identity {
    char kind[IDENTITY_KIND_LEN];
    char value[IDENTITY_VALUE_LEN];
};

/* Bits of identity_set.rejected: a field that was given (not blank) but
 * could not be normalised. */
enum {
    IDENTITY_BAD_PHONE = 1u << 0,
    IDENTITY_BAD_EMAIL = 1u << 1,
    IDENTITY_BAD_HANDLE = 1u << 2,
};

struct identity_set {
    struct identity items[IDENTITY_SET_MAX];
    size_t n;          /* distinct identities in items */
    unsigned rejected; /* IDENTITY_BAD_* */
};

/* True when country (ISO 3166-1 alpha-2, "VN") has national-number rules
 * here; NULL means IDENTITY_DEFAULT_COUNTRY. */
bool identity_country_known(const char *country);

/* Normalises a phone number to E.164 in out. 0, or -1 for garbage: a
 * character other than digits, blanks, "-", ".", "/", "(", ")" and one
 * leading "+"; a number too short or too long; an unknown country.
 *
 *   "+84 901 234 567", "0084 901 234 567"     international, "+" or "00"
 *   "84901234567"                             home country code without "+"
 *   "0901 234 567", "(090) 1234-567"          national, trunk prefix "0"
 *   "901234567"                               national without the trunk "0"
 *   "+84 (0) 901 234 567", "+840901234567"    a trunk "0" written after the
 *                                             country code is dropped
 *   "+1 (415) 555-0123"                       other countries: the digits as
 *                                             given (a "(0)" is dropped),
 *                                             7 to 15 of them
 *
 * country: whose national numbers those without a country code are (NULL:
 * IDENTITY_DEFAULT_COUNTRY). A home-country number must have a national
 * significant number of that country's length (Vietnam: 9 or 10 digits). */
int identity_phone(const char *raw, const char *country, char out[IDENTITY_PHONE_LEN]);

/* The E.164 prefix of a phone number typed in part, for look-ups by
 * prefix: the characters identity_phone takes, read the same way, but of
 * any length and without the length checks that tell a home-country code
 * from a national number:
 *
 *   "0901 23" -> "+8490123"   "+84 9" -> "+849"   "0084 90" -> "+8490"
 *   "84 90" -> "+8490" (read as the country code)  "901" -> "+84901"
 *
 * 0, or -1 for garbage, no digit or more than 15 digits. */
int identity_phone_prefix(const char *raw, const char *country, char out[IDENTITY_PHONE_LEN]);

/* Normalises an email address: trimmed, ASCII lower-cased; exactly one "@"
 * with a non-empty local part and domain; no blanks, control characters or
 * the list and display-name punctuation "<>,;"; at most 254 bytes (RFC
 * 5321). 0 or -1. */
int identity_email(const char *raw, char out[IDENTITY_VALUE_LEN]);

/* The identity a channel's own handle stands for. 0 or -1.
 *
 *   phone, sms   the handle is the caller's or sender's number: a phone
 *                identity; anything else is rejected
 *   whatsapp     a WhatsApp id is the number in international digits
 *                without "+" ("84901234567"): a phone identity when it reads
 *                as one, else ("whatsapp", handle)
 *   email        the sender's address: an email identity
 *   others       (channel name, trimmed handle): no control characters,
 *                1 to 255 bytes
 *   unspecified or unknown channel: rejected (the kind would be "") */
int identity_handle(Carebus__V1__Channel channel, const char *raw, const char *country,
                    struct identity *out);

/* Fills s with the distinct identities of a contact's customer: phone,
 * email, then the channel handle (ref may be NULL). Blank fields are
 * absent; fields given but invalid are left out and flagged in
 * s->rejected. */
void identity_set_from_ref(struct identity_set *s, Carebus__V1__Channel channel,
                           const Carebus__V1__CustomerRef *ref, const char *country);

#endif
