/* email.c — email: inbound in Postmark's shape (POST /v1/webhooks/email);
 * the outbound side (SMTP) is email_outbound.c's.
 *
 * Sections: RFC 5322 dates and msg-ids, inbound (one email), the adapter.
 *
 * Payload followed: postmarkapp.com/developer/webhooks/inbound-webhook and
 * .../user-guide/inbound/parse-an-email (the InboundWebhook type of the
 * official postmark.js: From, FromName, FromFull{Email,Name}, To, Subject,
 * Date, MessageID, TextBody, HtmlBody, StrippedTextReply, Headers[{Name,
 * Value}], Attachments[{Name,ContentType,ContentLength}]).
 *
 * Authenticated with an integrator API key, not a signature: Postmark
 * posts to a URL with credentials the operator writes into it
 * (https://user:key@host/v1/webhooks/email), which it sends as HTTP Basic;
 * the driver takes the key from Basic's password or from a Bearer header
 * (a key limited to channels must include email). Content-Type must be
 * JSON (415). Enabled unless CAREBUS_EMAIL_WEBHOOK is off.
 *
 * Threading: external_id is the Message-ID header (else Postmark's
 * MessageID), in_reply_to the In-Reply-To header and references the
 * References header, all as the bare "left@right" of RFC 5322's msg-id,
 * without angle brackets, so that a reply's In-Reply-To equals the
 * external_id its parent got here. occurred_at is the Date header.
 */
#include "email.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* --- RFC 5322 dates ---------------------------------------------------- */

static const char *skip_cfws(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != '(')
            return p;
        /* A comment, possibly nested: "(UTC)". */
        int depth = 0;
        do {
            if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            else if (*p == '\\' && p[1])
                p++;
            p++;
        } while (*p && depth > 0);
    }
}

static const char *read_num(const char *p, int min_digits, int max_digits, int *out)
{
    int n = 0, v = 0;
    while (isdigit((unsigned char)*p) && n < max_digits) {
        v = v * 10 + (*p - '0');
        p++;
        n++;
    }
    if (n < min_digits || isdigit((unsigned char)*p))
        return NULL;
    *out = v;
    return p;
}

const char *const email_months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Obsolete zone names (RFC 5322 section 4.3); military letters mean 0. */
static bool zone_name(const char *p, size_t n, int *minutes)
{
    static const struct {
        const char *name;
        int h;
    } zones[] = {{"UT", 0},   {"GMT", 0},  {"UTC", 0},  {"Z", 0},    {"EST", -5}, {"EDT", -4},
                 {"CST", -6}, {"CDT", -5}, {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
        if (strlen(zones[i].name) == n && strncasecmp(p, zones[i].name, n) == 0) {
            *minutes = zones[i].h * 60;
            return true;
        }
    if (n == 1 && isalpha((unsigned char)*p)) {
        *minutes = 0;
        return true;
    }
    return false;
}

int email_rfc5322_date(const char *s, int64_t *us)
{
    const char *p = skip_cfws(s);
    /* Optional day name and comma. */
    if (isalpha((unsigned char)*p)) {
        const char *q = p;
        while (isalpha((unsigned char)*q))
            q++;
        q = skip_cfws(q);
        if (*q != ',')
            return -1;
        p = skip_cfws(q + 1);
    }
    int day, mon = -1, year, hour, min, sec = 0;
    if (!(p = read_num(p, 1, 2, &day)))
        return -1;
    p = skip_cfws(p);
    for (int i = 0; i < 12; i++)
        if (strncasecmp(p, email_months[i], 3) == 0 && !isalpha((unsigned char)p[3]))
            mon = i;
    if (mon < 0)
        return -1;
    p = skip_cfws(p + 3);
    const char *y0 = p;
    if (!(p = read_num(p, 2, 4, &year)))
        return -1;
    if (p - y0 == 2) /* obsolete two- and three-digit years */
        year += year < 50 ? 2000 : 1900;
    else if (p - y0 == 3)
        year += 1900;
    p = skip_cfws(p);
    if (!(p = read_num(p, 1, 2, &hour)) || *(p = skip_cfws(p)) != ':')
        return -1;
    if (!(p = read_num(skip_cfws(p + 1), 2, 2, &min)))
        return -1;
    p = skip_cfws(p);
    if (*p == ':' && !(p = read_num(skip_cfws(p + 1), 2, 2, &sec)))
        return -1;
    p = skip_cfws(p);
    int zone = 0;
    if (*p == '+' || *p == '-') {
        int hhmm;
        const char *z = read_num(p + 1, 4, 4, &hhmm);
        if (!z || hhmm % 100 > 59)
            return -1;
        zone = (hhmm / 100 * 60 + hhmm % 100) * (*p == '-' ? -1 : 1);
        p = z;
    } else {
        const char *q = p;
        while (isalpha((unsigned char)*q))
            q++;
        if (!zone_name(p, (size_t)(q - p), &zone))
            return -1;
        p = q;
    }
    if (*skip_cfws(p) != '\0')
        return -1;
    if (day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 || year < 1970 || year > 9999)
        return -1;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_sec = sec == 60 ? 59 : sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != day) /* "31 Feb" normalised away */
        return -1;
    *us = ((int64_t)t - (int64_t)zone * 60) * 1000000;
    return 0;
}

/* --- msg-ids ------------------------------------------------------------ */

/* The next msg-id of a header value from *p: the inside of "<...>", or a
 * blank-separated token when there are no brackets. */
static const char *next_msg_id(const char **p, size_t *n)
{
    const char *s = *p;
    while (*s && isspace((unsigned char)*s))
        s++;
    if (!*s)
        return NULL;
    const char *lt = strchr(s, '<');
    if (lt) {
        const char *gt = strchr(lt + 1, '>');
        if (!gt)
            return NULL;
        *p = gt + 1;
        *n = (size_t)(gt - lt - 1);
        return *n ? lt + 1 : next_msg_id(p, n);
    }
    const char *e = s;
    while (*e && !isspace((unsigned char)*e))
        e++;
    *p = e;
    *n = (size_t)(e - s);
    return s;
}

static char *first_msg_id(struct inbound_batch *b, const char *value)
{
    size_t n;
    const char *id = value ? next_msg_id(&value, &n) : NULL;
    return id ? inbound_strndup(b, id, n) : NULL;
}

static const char *email_header(const json_t *headers, const char *name)
{
    size_t i;
    const json_t *h;
    json_array_foreach(headers, i, h)
    {
        const char *n = inbound_json_str(h, "Name");
        if (n && strcasecmp(n, name) == 0)
            return inbound_json_str(h, "Value");
    }
    return NULL;
}

/* The newest CONTACT_MAX_REFERENCES of the References header, oldest
 * first (the nearest ancestors matter most for threading). */
static int email_references(struct inbound_batch *b, struct contact *m, const char *value,
                            struct inbound_error *err)
{
    size_t total = 0, n;
    for (const char *p = value; next_msg_id(&p, &n);)
        total++;
    size_t skip = total > CONTACT_MAX_REFERENCES ? total - CONTACT_MAX_REFERENCES : 0;
    size_t k = 0;
    const char *id;
    for (const char *p = value; (id = next_msg_id(&p, &n)); k++) {
        if (k < skip)
            continue;
        char *ref = inbound_strndup(b, id, n);
        if (!ref)
            return inbound_fail(err, 503, "out of memory");
        m->references[m->contact.n_references++] = ref;
    }
    m->contact.references = m->references;
    return 0;
}

/* --- inbound: one email ----------------------------------------------------- */

/* "Lan <lan@example.vn>" -> "lan@example.vn"; a bare address as is. */
static char *address_of(struct inbound_batch *b, const char *from)
{
    const char *lt = strrchr(from, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        return inbound_strndup(b, lt + 1, (size_t)(gt - lt - 1));
    while (isspace((unsigned char)*from))
        from++;
    size_t n = strlen(from);
    while (n && isspace((unsigned char)from[n - 1]))
        n--;
    return inbound_strndup(b, from, n);
}

int email_map(struct inbound_batch *b, int64_t now_us, struct inbound_error *err)
{
    const json_t *root = b->root;
    struct contact *m = inbound_add_contact(b, CAREBUS__V1__CHANNEL__CHANNEL_EMAIL, err);
    if (!m)
        return -1;
    const json_t *full = json_object_get(root, "FromFull");
    const char *s;
    if ((s = inbound_json_str(full, "Email")) && *s)
        m->customer.email = (char *)s;
    else if ((s = inbound_json_str(root, "From")) && *s && !(m->customer.email = address_of(b, s)))
        return inbound_fail(err, 503, "out of memory");
    if (!*m->customer.email)
        return inbound_fail(err, 400, "\"From\" (or \"FromFull.Email\") is required");
    if (((s = inbound_json_str(full, "Name")) && *s) ||
        ((s = inbound_json_str(root, "FromName")) && *s))
        m->customer.name = (char *)s;
    if ((s = inbound_json_str(root, "Subject")))
        m->contact.subject = (char *)s;
    if (((s = inbound_json_str(root, "TextBody")) && *s) ||
        ((s = inbound_json_str(root, "StrippedTextReply")) && *s))
        m->contact.text = (char *)s;

    const json_t *headers = json_object_get(root, "Headers");
    char *id = first_msg_id(b, email_header(headers, "Message-ID"));
    if (id && *id)
        m->contact.external_id = id;
    else if ((s = inbound_json_str(root, "MessageID")) && *s)
        m->contact.external_id = (char *)s;
    else
        return inbound_fail(err, 400, "a \"Message-ID\" header (or \"MessageID\") is required");
    char *parent = first_msg_id(b, email_header(headers, "In-Reply-To"));
    if (parent)
        m->contact.in_reply_to = parent;
    const char *refs = email_header(headers, "References");
    if (refs && email_references(b, m, refs, err) != 0)
        return -1;

    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(root, "Attachments"), i, a)
    {
        uint64_t size = 0;
        if (inbound_json_uint(a, "ContentLength", &size) != 0)
            size = 0;
        contact_attach(m, inbound_json_str(a, "Name"), inbound_json_str(a, "ContentType"), size,
                       NULL, NULL);
    }
    int64_t at = now_us;
    if ((s = inbound_json_str(root, "Date")) && email_rfc5322_date(s, &at) != 0)
        at = now_us;
    if (!inbound_contact_finish(m, at))
        return inbound_fail(err, 400,
                            "could not read \"From\" as an email address, or the "
                            "message id is longer than %d bytes",
                            CONTACT_MAX_ID);
    return 0;
}

int email_parse(const char *body, size_t len, int64_t now_us, struct inbound_batch *b,
                struct inbound_error *err)
{
    if (inbound_load_json(b, body, len, err) != 0)
        return -1;
    return email_map(b, now_us, err);
}

/* --- the adapter ---------------------------------------------------------------- */

const struct inbound_adapter email_inbound = {
    .name = "email",
    .path = "email",
    .auth = INBOUND_API_KEY,
    .toggle = "EMAIL_WEBHOOK",
    .channel = CAREBUS__V1__CHANNEL__CHANNEL_EMAIL,
    .content_type = "application/json",
    .load = inbound_load_json,
    .map = email_map,
};
