/* identity.c — normalising phone numbers, emails and channel handles.
 *
 * Phone numbers are read by one scanner that keeps the digits and notes a
 * leading "+", then classified: international ("+", or the home country's
 * international prefix "00"), national with the trunk prefix "0", the home
 * country code without "+", or a bare national significant number. Which
 * one a string of digits is can be ambiguous; lengths decide, and they are
 * the home country's (one row of identity_countries). Numbers of other
 * countries are kept as given: validating them needs the per-country tables
 * of a library such as libphonenumber, which Debian ships for C++ only.
 *
 * Blanks are ASCII white space and U+00A0 (no-break space), which numbers
 * and addresses copied from documents and spreadsheets often carry.
 */
#include "identity.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* Raw phone input longer than this is garbage, whatever it holds. */
#define PHONE_RAW_MAX 64
#define PHONE_MIN_DIGITS 7
#define PHONE_MAX_DIGITS 15
#define EMAIL_MAX 254

/* One row per country whose national numbers we read. */
static const struct identity_country {
    char iso[3];
    const char *cc;   /* country calling code */
    const char *intl; /* international call prefix */
    char trunk;       /* national trunk prefix */
    size_t nsn_min;   /* national significant number length */
    size_t nsn_max;
} identity_countries[] = {
    /* Mobile numbers have 9 digits (90 123 4567), landlines 10 (24 3826
     * 1234) since the 2017-2018 renumbering. */
    {"VN", "84", "00", '0', 9, 10},
};

static const struct identity_country *identity_country_find(const char *iso)
{
    if (iso == NULL)
        iso = IDENTITY_DEFAULT_COUNTRY;
    for (size_t i = 0; i < sizeof identity_countries / sizeof identity_countries[0]; i++)
        if (strcmp(identity_countries[i].iso, iso) == 0)
            return &identity_countries[i];
    return NULL;
}

bool identity_country_known(const char *country)
{
    return identity_country_find(country) != NULL;
}

/* Length in bytes of the blank at p (0 if none); n bytes are readable. */
static size_t blank_len(const char *p, size_t n)
{
    if (n >= 1 && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
        return 1;
    if (n >= 2 && (unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xa0)
        return 2;
    return 0;
}

/* s without leading and trailing blanks: returns the start, sets *len. */
static const char *trim(const char *s, size_t *len)
{
    size_t n = strlen(s), b;
    while (n > 0 && (b = blank_len(s, n)) > 0) {
        s += b;
        n -= b;
    }
    for (;;) {
        if (n >= 1 && blank_len(s + n - 1, 1) == 1)
            n -= 1;
        else if (n >= 2 && blank_len(s + n - 2, 2) == 2)
            n -= 2;
        else
            break;
    }
    *len = n;
    return s;
}

static bool blank(const char *s)
{
    size_t n;
    return s == NULL || (trim(s, &n), n == 0);
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
    size_t pn = strlen(prefix);
    return n >= pn && memcmp(s, prefix, pn) == 0;
}

/* Writes "+" and the international digits num (country code first) to
 * out, after checking their length. */
static int phone_finish(const struct identity_country *home, const char *num,
                        char out[IDENTITY_PHONE_LEN])
{
    size_t n = strlen(num);
    /* No country code begins with 0. */
    if (n == 0 || num[0] == '0')
        return -1;
    size_t cclen = strlen(home->cc);
    if (starts_with(num, n, home->cc)) {
        const char *nsn = num + cclen;
        /* "+84 (0)90...", "+84090...": the trunk prefix does not belong
         * after the country code, and no Vietnamese number begins with 0. */
        if (*nsn == home->trunk)
            nsn++;
        size_t nn = strlen(nsn);
        if (nn < home->nsn_min || nn > home->nsn_max)
            return -1;
        assert(1 + cclen + nn < IDENTITY_PHONE_LEN);
        out[0] = '+';
        memcpy(out + 1, home->cc, cclen);
        memcpy(out + 1 + cclen, nsn, nn + 1);
        return 0;
    }
    if (n < PHONE_MIN_DIGITS || n > PHONE_MAX_DIGITS)
        return -1;
    out[0] = '+';
    memcpy(out + 1, num, n + 1);
    return 0;
}

/* Reads the digits of raw (trimmed, at most PHONE_RAW_MAX bytes) into d
 * (PHONE_RAW_MAX + 1 bytes), noting a leading "+": the characters a phone
 * number may be written with, and a "(0)" after an international prefix
 * dropped. 0 with at least one digit, or -1 for garbage. */
static int phone_scan(const char *raw, const struct identity_country *home, char *d, size_t *ndp,
                      bool *plusp)
{
    size_t len;
    const char *p = trim(raw, &len);
    if (len == 0 || len > PHONE_RAW_MAX)
        return -1;
    size_t nd = 0, ilen = strlen(home->intl);
    bool plus = false;
    for (size_t i = 0; i < len;) {
        char ch = p[i];
        size_t b;
        bool international = plus || (nd > ilen && starts_with(d, nd, home->intl));
        if (ch >= '0' && ch <= '9') {
            d[nd++] = ch;
            i++;
        } else if (ch == '+') {
            if (plus || nd > 0)
                return -1;
            plus = true;
            i++;
        } else if (international && nd > 0 && len - i >= 3 && memcmp(p + i, "(0)", 3) == 0) {
            /* "+44 (0)20 ...": the "(0)" is dialled only from inside the
             * country. */
            i += 3;
        } else if (ch == '-' || ch == '.' || ch == '/' || ch == '(' || ch == ')') {
            i++;
        } else if ((b = blank_len(p + i, len - i)) > 0) {
            i += b;
        } else {
            return -1;
        }
    }
    d[nd] = '\0';
    *ndp = nd;
    *plusp = plus;
    return nd == 0 ? -1 : 0;
}

int identity_phone(const char *raw, const char *country, char out[IDENTITY_PHONE_LEN])
{
    const struct identity_country *home = identity_country_find(country);
    if (home == NULL || raw == NULL)
        return -1;
    char d[PHONE_RAW_MAX + 1];
    size_t nd, ilen = strlen(home->intl);
    bool plus;
    if (phone_scan(raw, home, d, &nd, &plus) != 0)
        return -1;

    size_t cclen = strlen(home->cc);
    /* Country code, trunk prefix dropped, national number. */
    char intl[PHONE_RAW_MAX + 8];
    const char *num;
    if (plus) {
        num = d;
    } else if (nd > ilen && starts_with(d, nd, home->intl)) {
        num = d + ilen;
    } else if (d[0] == home->trunk) {
        snprintf(intl, sizeof intl, "%s%s", home->cc, d + 1);
        num = intl;
    } else if (starts_with(d, nd, home->cc) && nd - cclen >= home->nsn_min &&
               nd - cclen <= home->nsn_max) {
        /* "84901234567": the country code without "+". A national number
         * of this length would be too long, so this reading is the only
         * one. */
        num = d;
    } else {
        /* "901234567": a national number without its trunk prefix. */
        snprintf(intl, sizeof intl, "%s%s", home->cc, d);
        num = intl;
    }
    return phone_finish(home, num, out);
}

int identity_phone_prefix(const char *raw, const char *country, char out[IDENTITY_PHONE_LEN])
{
    const struct identity_country *home = identity_country_find(country);
    if (home == NULL || raw == NULL)
        return -1;
    char d[PHONE_RAW_MAX + 1];
    size_t nd, ilen = strlen(home->intl), cclen = strlen(home->cc);
    bool plus;
    if (phone_scan(raw, home, d, &nd, &plus) != 0)
        return -1;
    char intl[PHONE_RAW_MAX + 8];
    const char *num;
    if (plus) {
        num = d;
    } else if (nd >= ilen && starts_with(d, nd, home->intl)) {
        num = d + ilen;
    } else if (d[0] == home->trunk) {
        snprintf(intl, sizeof intl, "%s%s", home->cc, d + 1);
        num = intl;
    } else if (starts_with(d, nd, home->cc)) {
        num = d; /* a prefix's length cannot tell it from a national number */
    } else {
        snprintf(intl, sizeof intl, "%s%s", home->cc, d);
        num = intl;
    }
    size_t n = strlen(num);
    if (n == 0 || num[0] == '0')
        return -1;
    out[0] = '+';
    size_t o = 1;
    if (starts_with(num, n, home->cc)) {
        /* "+84 0 90...": the trunk prefix does not belong after the code. */
        memcpy(out + 1, home->cc, cclen);
        o += cclen;
        num += cclen;
        n -= cclen;
        if (n && *num == home->trunk) {
            num++;
            n--;
        }
    }
    if (o + n > 1 + PHONE_MAX_DIGITS)
        return -1;
    memcpy(out + o, num, n);
    out[o + n] = '\0';
    return 0;
}

int identity_email(const char *raw, char out[IDENTITY_VALUE_LEN])
{
    if (raw == NULL)
        return -1;
    size_t len;
    const char *p = trim(raw, &len);
    if (len < 3 || len > EMAIL_MAX)
        return -1;
    size_t at = 0;
    bool seen_at = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '@') {
            if (seen_at)
                return -1;
            seen_at = true;
            at = i;
        } else if (ch < 0x20 || ch == 0x7f || ch == '<' || ch == '>' || ch == ',' || ch == ';' ||
                   blank_len(p + i, len - i) > 0) {
            return -1;
        }
        /* ASCII only: the bytes of UTF-8 sequences (>= 0x80) are kept. */
        out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch);
    }
    if (!seen_at || at == 0 || at == len - 1)
        return -1;
    out[len] = '\0';
    return 0;
}

/* Any other channel's handle: an opaque id, trimmed, case kept. */
static int identity_opaque(const char *kind, const char *raw, struct identity *out)
{
    size_t len;
    const char *p = trim(raw, &len);
    if (len == 0 || len >= IDENTITY_VALUE_LEN || strlen(kind) >= IDENTITY_KIND_LEN)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x20 || ch == 0x7f)
            return -1;
    }
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    memcpy(out->value, p, len);
    out->value[len] = '\0';
    return 0;
}

static int identity_as_phone(const char *raw, const char *country, struct identity *out)
{
    if (identity_phone(raw, country, out->value) != 0)
        return -1;
    snprintf(out->kind, sizeof out->kind, "phone");
    return 0;
}

/* A WhatsApp id is the number in international form without "+"; read it
 * with the "+" it lacks, so that "14155550123" is American rather than a
 * malformed Vietnamese national number. */
static int identity_whatsapp(const char *raw, const char *country, struct identity *out)
{
    size_t len;
    const char *p = trim(raw, &len);
    bool digits = len > 0 && len <= PHONE_RAW_MAX && p[0] != '0';
    for (size_t i = 0; digits && i < len; i++)
        digits = p[i] >= '0' && p[i] <= '9';
    if (digits) {
        char plus[PHONE_RAW_MAX + 2];
        snprintf(plus, sizeof plus, "+%.*s", (int)len, p);
        if (identity_as_phone(plus, country, out) == 0)
            return 0;
    } else if (identity_as_phone(raw, country, out) == 0) {
        return 0;
    }
    return identity_opaque("whatsapp", raw, out);
}

int identity_handle(Carebus__V1__Channel channel, const char *raw, const char *country,
                    struct identity *out)
{
    if (raw == NULL)
        return -1;
    switch (channel) {
    case CAREBUS__V1__CHANNEL__CHANNEL_PHONE:
    case CAREBUS__V1__CHANNEL__CHANNEL_SMS:
        return identity_as_phone(raw, country, out);
    case CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP:
        return identity_whatsapp(raw, country, out);
    case CAREBUS__V1__CHANNEL__CHANNEL_EMAIL:
        if (identity_email(raw, out->value) != 0)
            return -1;
        snprintf(out->kind, sizeof out->kind, "email");
        return 0;
    default: {
        /* "" for UNSPECIFIED and for values newer than this build. */
        const char *name = event_channel_name(channel);
        if (name[0] == '\0')
            return -1;
        return identity_opaque(name, raw, out);
    }
    }
}

static void identity_set_add(struct identity_set *s, const struct identity *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].kind, id->kind) == 0 && strcmp(s->items[i].value, id->value) == 0)
            return;
    /* Three fields give at most three identities. */
    if (s->n < IDENTITY_SET_MAX)
        s->items[s->n++] = *id;
}

void identity_set_from_ref(struct identity_set *s, Carebus__V1__Channel channel,
                           const Carebus__V1__CustomerRef *ref, const char *country)
{
    s->n = 0;
    s->rejected = 0;
    if (ref == NULL)
        return;
    struct identity id;
    if (!blank(ref->phone)) {
        if (identity_as_phone(ref->phone, country, &id) == 0)
            identity_set_add(s, &id);
        else
            s->rejected |= IDENTITY_BAD_PHONE;
    }
    if (!blank(ref->email)) {
        if (identity_email(ref->email, id.value) == 0) {
            snprintf(id.kind, sizeof id.kind, "email");
            identity_set_add(s, &id);
        } else {
            s->rejected |= IDENTITY_BAD_EMAIL;
        }
    }
    if (!blank(ref->handle)) {
        if (identity_handle(channel, ref->handle, country, &id) == 0)
            identity_set_add(s, &id);
        else
            s->rejected |= IDENTITY_BAD_HANDLE;
    }
}
