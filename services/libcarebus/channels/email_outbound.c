/* email_outbound.c — email: a reply as an RFC 5322 message, submitted by
 * SMTP (courier performs it with libcurl), and the server's answer.
 *
 * Sections: settings, header writing (folding, RFC 2047), the body
 * (quoted-printable text and HTML), the message, the server's answer, the
 * adapter.
 *
 * Subtle: STARTTLS is always required (never CURLUSESSL_TRY: a server, or
 * someone between, that offers no TLS gets nothing). Every line is CRLF and
 * short, every header ASCII (RFC 2047 words), every part quoted-printable,
 * so neither 8BITMIME nor SMTPUTF8 is needed; the boundary begins with
 * "=_", which quoted-printable can never produce. Threading follows RFC
 * 5322 3.6.4: the message's Message-ID is carebus's own (the router's, so
 * that the customer's answer threads back by In-Reply-To; for a message
 * without one, "<delivery id@From's domain>"), In-Reply-To the customer's
 * message it answers, References the thread, ending with that message.
 * Files are listed as links, in both parts: carebus fetches nothing.
 */
#include "email.h"

#include <assert.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "html.h"
#include "msgid.h"
#include "utf8.h"

/* Header lines are folded at 78 characters where they can be (RFC 5322
 * 2.1.1); a msg-id longer than this is no id carebus writes. */
#define EMAIL_LINE 78
#define EMAIL_ID_MAX 250
/* RFC 2047: an encoded word is 75 characters at most; "=?UTF-8?B?" and
 * "?=" leave 63, so 45 bytes of text (60 in base64). */
#define EMAIL_WORD_BYTES 45
#define EMAIL_QP_LINE 76

/* --- settings ------------------------------------------------------------------- */

struct email_cfg {
    char *url;             /* smtp:// or smtps:// */
    char *user, *password; /* NULL: no AUTH */
    char *from_name;       /* "" when none */
    char *from_addr;
    char *reply_name;   /* "" when none */
    char *reply_addr;   /* NULL: no Reply-To */
    const char *domain; /* of generated Message-IDs: in from_addr */
};

static void email_destroy(void *p)
{
    struct email_cfg *c = p;
    if (!c)
        return;
    free(c->url);
    free(c->user);
    free(c->password);
    free(c->from_name);
    free(c->from_addr);
    free(c->reply_name);
    free(c->reply_addr);
    free(c);
}

/* An addr-spec carebus writes: printable ASCII without blanks, brackets,
 * quotes or separators, one '@' between a local part and a domain. Quoted
 * local parts and internationalised addresses are not sent. */
static bool email_addr_ok(const char *a)
{
    const char *at = strrchr(a, '@');
    if (!at || at == a || !at[1] || strlen(a) > 254)
        return false;
    for (const char *p = a; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c) || (c == '@' && p != at))
            return false;
    }
    return true;
}

/* "Name <addr>" or "addr" into *name ("" when none) and *addr (owned);
 * 0, or -1 when it is not one. */
static int email_parse_mailbox(const char *v, char **name, char **addr)
{
    *name = *addr = NULL;
    const char *lt = strrchr(v, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    const char *a = v, *ae = v + strlen(v);
    const char *n = v, *ne = v;
    if (lt) {
        if (!gt || gt[1 + strspn(gt + 1, " \t")] != '\0')
            return -1;
        a = lt + 1;
        ae = gt;
        ne = lt;
    }
    while (n < ne && (*n == ' ' || *n == '\t'))
        n++;
    while (ne > n && (ne[-1] == ' ' || ne[-1] == '\t'))
        ne--;
    if (ne - n >= 2 && *n == '"' && ne[-1] == '"')
        n++, ne--;
    while (a < ae && (*a == ' ' || *a == '\t'))
        a++;
    while (ae > a && (ae[-1] == ' ' || ae[-1] == '\t'))
        ae--;
    *addr = strndup(a, (size_t)(ae - a));
    *name = strndup(n, (size_t)(ne - n));
    if (!*addr || !*name || !email_addr_ok(*addr) || !utf8_valid(*name, strlen(*name))) {
        free(*name);
        free(*addr);
        *name = *addr = NULL;
        return -1;
    }
    for (char *p = *name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return 0;
}

static bool email_has_control(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Error texts name settings, and never quote a credential (nor the URL,
 * which could hold one). */
static void *email_configure(char *err, size_t errlen)
{
    const char *url = config_str("SMTP_URL", NULL);
    err[0] = '\0';
    if (!url)
        return NULL;
    const char *user = config_str("SMTP_USER", NULL);
    const char *password = config_str("SMTP_PASSWORD", NULL);
    const char *from = config_str("EMAIL_FROM", NULL);
    const char *reply_to = config_str("EMAIL_REPLY_TO", NULL);
    size_t scheme = strncasecmp(url, "smtp://", 7) == 0    ? 7
                    : strncasecmp(url, "smtps://", 8) == 0 ? 8
                                                           : 0;
    if (!scheme || !url[scheme] || email_has_control(url) || strchr(url, ' ')) {
        snprintf(err, errlen,
                 "CAREBUS_SMTP_URL must be smtp://host:port (STARTTLS) or smtps://host:port");
        return NULL;
    }
    if (memchr(url + scheme, '@', strcspn(url + scheme, "/?#"))) {
        snprintf(err, errlen,
                 "CAREBUS_SMTP_URL must not hold credentials: set CAREBUS_SMTP_USER and "
                 "CAREBUS_SMTP_PASSWORD");
        return NULL;
    }
    if (!user != !password) {
        snprintf(err, errlen, "CAREBUS_SMTP_USER and CAREBUS_SMTP_PASSWORD go together");
        return NULL;
    }
    if (!from) {
        snprintf(err, errlen, "CAREBUS_SMTP_URL needs CAREBUS_EMAIL_FROM");
        return NULL;
    }
    struct email_cfg *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (email_parse_mailbox(from, &c->from_name, &c->from_addr) != 0) {
        snprintf(err, errlen,
                 "CAREBUS_EMAIL_FROM \"%.200s\" is not \"Name <address>\" or an address", from);
        goto fail;
    }
    if (reply_to && email_parse_mailbox(reply_to, &c->reply_name, &c->reply_addr) != 0) {
        snprintf(err, errlen,
                 "CAREBUS_EMAIL_REPLY_TO \"%.200s\" is not \"Name <address>\" or an address",
                 reply_to);
        goto fail;
    }
    c->url = strdup(url);
    c->user = user ? strdup(user) : NULL;
    c->password = password ? strdup(password) : NULL;
    if (!c->url || (user && (!c->user || !c->password))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    c->domain = strrchr(c->from_addr, '@') + 1;
    return c;
fail:
    email_destroy(c);
    return NULL;
}

/* --- header writing ------------------------------------------------------------- */

/* A header being written: tokens separated by one blank, folded before a
 * token that would pass EMAIL_LINE (never before the first of a line). */
struct hdr {
    buf *b;
    size_t col;
    bool fresh; /* nothing on this line after the name or the fold yet */
};

static void hdr_begin(struct hdr *h, buf *b, const char *name)
{
    h->b = b;
    buf_printf(b, "%s:", name);
    h->col = strlen(name) + 1;
    h->fresh = true;
}

static void hdr_token(struct hdr *h, const char *t, size_t n)
{
    if (!h->fresh && h->col + 1 + n > EMAIL_LINE) {
        buf_puts(h->b, "\r\n");
        h->col = 0;
    }
    buf_putc(h->b, ' ');
    buf_append(h->b, t, n);
    h->col += 1 + n;
    h->fresh = false;
}

static void hdr_end(struct hdr *h)
{
    buf_puts(h->b, "\r\n");
}

/* s as RFC 2047 B words of whole characters (s: well-formed UTF-8), each
 * as long as its line's room allows (the first, after the header's name,
 * is shorter). */
static void hdr_words(struct hdr *h, const char *s)
{
    /* The smallest word worth the rest of a line: 6 bytes, so that any
     * character (4 at most) fits. */
    const size_t least = 12 + 8;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t here = h->col + 1 < EMAIL_LINE ? EMAIL_LINE - h->col - 1 : 0;
        size_t room = here >= least ? here : EMAIL_LINE - 1; /* else hdr_token folds */
        if (here < least && h->fresh) {
            buf_puts(h->b, "\r\n"); /* a very long header name: the next line */
            h->col = 0;
        }
        /* 3 bytes of text for every 4 characters of base64. */
        size_t max = (room - 12) / 4 * 3;
        if (max > EMAIL_WORD_BYTES)
            max = EMAIL_WORD_BYTES;
        size_t n = 0;
        while (i + n < len) {
            uint32_t cp;
            size_t k = utf8_decode(s + i + n, len - i - n, &cp);
            if (k == 0)
                k = 1; /* cannot happen on well-formed input; never loop */
            if (n + k > max)
                break;
            n += k;
        }
        assert(n > 0);
        char word[12 + 4 * EMAIL_WORD_BYTES / 3 + 8];
        int w = snprintf(word, sizeof word, "=?UTF-8?B?");
        w += EVP_EncodeBlock((unsigned char *)word + w, (const unsigned char *)s + i, (int)n);
        w += snprintf(word + w, sizeof word - (size_t)w, "?=");
        hdr_token(h, word, (size_t)w);
        i += n;
    }
}

/* value made fit for a header: well-formed UTF-8, controls as blanks.
 * Owned; NULL when out of memory. */
static char *hdr_clean(const char *value)
{
    size_t cap = 3 * strlen(value) + 1;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    utf8_copy(s, cap, value, UTF8_REPLACEMENT_STR);
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return s;
}

/* Printable ASCII that folds at single blanks into words no longer than a
 * line, and that no reader could take for an encoded word. */
static bool hdr_plain(const char *s)
{
    size_t word = 0;
    if (*s == ' ' || strstr(s, "=?"))
        return false;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return false;
        if (*p == ' ') {
            if (p[1] == ' ' || p[1] == '\0')
                return false;
            word = 0;
        } else if (++word > EMAIL_LINE - 12) {
            return false;
        }
    }
    return true;
}

static void hdr_plain_tokens(struct hdr *h, const char *s)
{
    while (*s) {
        size_t n = strcspn(s, " ");
        hdr_token(h, s, n);
        s += n;
        s += *s == ' ';
    }
}

void email_outbound_unstructured(buf *b, const char *name, const char *value)
{
    struct hdr h;
    char *s = hdr_clean(value ? value : "");
    if (!s) {
        b->failed = 1;
        return;
    }
    hdr_begin(&h, b, name);
    if (hdr_plain(s))
        hdr_plain_tokens(&h, s);
    else
        hdr_words(&h, s);
    hdr_end(&h);
    free(s);
}

/* RFC 5322 atext, and the blank between words of a phrase. */
static bool hdr_atext(const char *s)
{
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
              strchr("!#$%&'*+-/=?^_`{|}~ ", *s)))
            return false;
    return true;
}

/* "Name: display name <addr>" (addr alone without a name). */
static void hdr_mailbox(buf *b, const char *name, const char *display, const char *addr)
{
    struct hdr h;
    hdr_begin(&h, b, name);
    char *s = display && display[0] ? hdr_clean(display) : NULL;
    if (!s && display && display[0]) {
        b->failed = 1;
        return;
    }
    if (s && hdr_plain(s) && hdr_atext(s)) {
        hdr_plain_tokens(&h, s);
    } else if (s && hdr_plain(s)) {
        buf q = BUF_INIT;
        buf_putc(&q, '"');
        for (const char *p = s; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_putc(&q, '\\');
            buf_putc(&q, *p);
        }
        buf_putc(&q, '"');
        hdr_token(&h, buf_str(&q), q.len);
        b->failed |= q.failed;
        buf_release(&q);
    } else if (s) {
        hdr_words(&h, s);
    }
    char angle[EMAIL_ID_MAX + 8];
    int n = snprintf(angle, sizeof angle, s ? "<%s>" : "%s", addr);
    hdr_token(&h, angle, (size_t)n);
    hdr_end(&h);
    free(s);
}

/* "<id>" of a msg-id given with or without its brackets; -1 when it holds
 * what a msg-id cannot (blanks, brackets, controls, 8-bit) or is long. */
static int email_msg_id(const char *s, char out[EMAIL_ID_MAX + 3])
{
    char bare[EMAIL_ID_MAX + 1];
    if (msgid_bare(s, bare, sizeof bare) != 0)
        return -1;
    for (const char *p = bare; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '<' || *p == '>')
            return -1;
    return msgid_angle(bare, out, EMAIL_ID_MAX + 3);
}

/* "Mon, 02 Mar 2026 10:00:00 +0000", in English whatever the locale. */
static void email_date(int64_t us, char *out, size_t cap)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             email_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* --- the body ------------------------------------------------------------------- */

void email_outbound_qp(buf *b, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *p = text ? text : "";
    for (;;) {
        size_t len = strcspn(p, "\r\n");
        size_t col = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)p[i];
            bool last = i + 1 == len;
            bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
            size_t w = literal ? 1 : 3;
            /* Room for the token and, unless it ends the line, a soft break. */
            if (col + w > EMAIL_QP_LINE - (last ? 0 : 1)) {
                buf_puts(b, "=\r\n");
                col = 0;
            }
            if (literal) {
                buf_putc(b, (char)c);
            } else {
                char e[3] = {'=', hex[c >> 4], hex[c & 15]};
                buf_append(b, e, 3);
            }
            col += w;
        }
        buf_puts(b, "\r\n");
        p += len;
        if (!*p)
            return;
        p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
        if (!*p)
            return;
    }
}

/* The words around the file links, in the message's language. */
static const char *email_files_label(const char *language)
{
    return language && strcmp(language, "vi") == 0 ? "Tệp đính kèm:" : "Attachments:";
}

static const char *email_file_name(const Carebus__V1__Attachment *a)
{
    return a->name && a->name[0] ? a->name : a->url;
}

/* The plain text: the reply, then its files as "- name: url". */
static void email_text_part(buf *t, const Carebus__V1__MessageOutbound *m, const char *text)
{
    buf_puts(t, text);
    if (!m->n_attachments)
        return;
    buf_printf(t, "%s%s\n", text[0] ? "\n\n" : "", email_files_label(m->language));
    for (size_t i = 0; i < m->n_attachments; i++) {
        const Carebus__V1__Attachment *a = m->attachments[i];
        if (a->name && a->name[0])
            buf_printf(t, "- %s: %s\n", a->name, a->url);
        else
            buf_printf(t, "- %s\n", a->url);
    }
}

/* The HTML: paragraphs at blank lines, <br> at single line ends, and the
 * files as links; every text escaped. */
static void email_html_part(buf *h, const Carebus__V1__MessageOutbound *m, const char *text)
{
    buf_puts(h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    const char *p = text;
    bool open = false;
    while (*p) {
        size_t len = strcspn(p, "\r\n");
        char *line = strndup(p, len);
        if (!line) {
            h->failed = 1;
            return;
        }
        if (len == 0) {
            if (open)
                buf_puts(h, "</p>\n");
            open = false;
        } else {
            buf_puts(h, open ? "<br>\n" : "<p>");
            open = true;
            html_escape(h, line);
        }
        free(line);
        p += len;
        p += (p[0] == '\r' && p[1] == '\n') ? 2 : (*p ? 1 : 0);
    }
    if (open)
        buf_puts(h, "</p>\n");
    if (m->n_attachments) {
        buf_puts(h, "<p>");
        html_escape(h, email_files_label(m->language));
        buf_puts(h, "</p>\n<ul>\n");
        for (size_t i = 0; i < m->n_attachments; i++) {
            const Carebus__V1__Attachment *a = m->attachments[i];
            buf_puts(h, "<li><a href=\"");
            html_escape(h, a->url);
            buf_puts(h, "\">");
            html_escape(h, email_file_name(a));
            buf_puts(h, "</a></li>\n");
        }
        buf_puts(h, "</ul>\n");
    }
    buf_puts(h, "</body></html>\n");
}

/* --- the message ---------------------------------------------------------------- */

static void email_part(buf *b, const char *boundary, const char *type, const char *content)
{
    buf_printf(b,
               "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
               boundary, type);
    email_outbound_qp(b, content);
}

/* References: the thread as given (the router keeps it short), each once,
 * ending with the message answered. */
static void email_references(buf *b, const Carebus__V1__MessageOutbound *m, const char *parent)
{
    struct hdr h;
    bool any = false, has_parent = false;
    char id[EMAIL_ID_MAX + 3];
    for (size_t i = 0; i <= m->n_references; i++) {
        const char *r = i < m->n_references ? m->references[i] : NULL;
        if (i == m->n_references) {
            if (!parent || has_parent)
                break;
            r = parent;
        }
        if (email_msg_id(r, id) != 0)
            continue;
        if (parent && strcmp(id, parent) == 0) {
            if (has_parent)
                continue;
            has_parent = true;
        }
        if (!any)
            hdr_begin(&h, b, "References");
        any = true;
        hdr_token(&h, id, strlen(id));
    }
    if (any)
        hdr_end(&h);
}

static int email_build(const void *cfgv, const struct outbound_credentials *cred,
                       const struct outbound_msg *msg, struct outbound_request *req,
                       struct outbound_result *res)
{
    (void)cred;
    const struct email_cfg *cfg = cfgv;
    const Carebus__V1__MessageOutbound *m = msg->m;
    const char *to = m->recipient ? m->recipient->email : NULL;
    if (outbound_check(msg, to, 0, res) != 0)
        return -1;
    if (!email_addr_ok(to))
        return outbound_fail(res, "invalid_recipient",
                             "\"%.200s\" is not an address carebus can send to", to);
    for (size_t i = 0; i < m->n_attachments; i++) {
        const char *u = m->attachments[i]->url;
        if (!u || (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0))
            return outbound_fail(res, "unsupported_attachment",
                                 "attachment %zu has no http(s) URL to link to", i + 1);
    }
    const char *raw = m->text ? m->text : "";
    char *text = malloc(3 * strlen(raw) + 1);
    if (!text)
        return outbound_fail(res, "internal", "out of memory building the message");
    utf8_copy(text, 3 * strlen(raw) + 1, raw, UTF8_REPLACEMENT_STR);

    char mid[EMAIL_ID_MAX + 3], parent[EMAIL_ID_MAX + 3], date[64], boundary[96];
    if (email_msg_id(m->message_id, mid) != 0) {
        char gen[EMAIL_ID_MAX + 3];
        snprintf(gen, sizeof gen, "%.80s@%.160s", msg->delivery_id ? msg->delivery_id : "",
                 cfg->domain);
        if (email_msg_id(gen, mid) != 0) {
            free(text);
            return outbound_fail(res, "internal", "no Message-ID can be made for this message");
        }
    }
    bool has_parent = email_msg_id(m->in_reply_to, parent) == 0;
    email_date(msg->now_us, date, sizeof date);
    snprintf(boundary, sizeof boundary, "=_cb_%.80s",
             msg->delivery_id && msg->delivery_id[0] ? msg->delivery_id : "0");

    buf b = BUF_INIT, t = BUF_INIT, h = BUF_INIT;
    buf_printf(&b, "Date: %s\r\n", date);
    hdr_mailbox(&b, "From", cfg->from_name, cfg->from_addr);
    hdr_mailbox(&b, "To", m->recipient->name, to);
    if (cfg->reply_addr)
        hdr_mailbox(&b, "Reply-To", cfg->reply_name, cfg->reply_addr);
    if (m->subject && m->subject[0])
        email_outbound_unstructured(&b, "Subject", m->subject);
    buf_printf(&b, "Message-ID: %s\r\n", mid);
    if (has_parent)
        buf_printf(&b, "In-Reply-To: %s\r\n", parent);
    email_references(&b, m, has_parent ? parent : NULL);
    buf_printf(&b,
               "MIME-Version: 1.0\r\n"
               "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n",
               boundary);
    email_text_part(&t, m, text);
    email_html_part(&h, m, text);
    email_part(&b, boundary, "text/plain", buf_str(&t));
    email_part(&b, boundary, "text/html", buf_str(&h));
    buf_printf(&b, "--%s--\r\n", boundary);
    free(text);
    bool failed = b.failed || t.failed || h.failed;
    buf_release(&t);
    buf_release(&h);

    req->proto = OUTBOUND_SMTP;
    req->body = buf_detach(&b, &req->body_len);
    req->url = strdup(cfg->url);
    req->require_tls = true;
    req->provider_message_id = strdup(mid);
    if (asprintf(&req->rcpt[0], "<%s>", to) < 0)
        req->rcpt[0] = NULL;
    req->nrcpt = req->rcpt[0] ? 1 : 0;
    if (asprintf(&req->mail_from, "<%s>", cfg->from_addr) < 0)
        req->mail_from = NULL;
    if (cfg->user) {
        req->username = strdup(cfg->user);
        req->password = strdup(cfg->password);
    }
    if (failed || !req->body || !req->url || !req->provider_message_id || !req->nrcpt ||
        !req->mail_from || (cfg->user && (!req->username || !req->password)))
        return outbound_fail(res, "internal", "out of memory building the message");
    return 0;
}

/* --- the server's answer ---------------------------------------------------------- */

/* The text of the server's last reply with that code (body: its replies,
 * one a line), without the code and its separator; "" when absent. */
static void email_reply_text(const struct outbound_response *resp, long code, char *out, size_t cap)
{
    char want[8];
    snprintf(want, sizeof want, "%03ld", code);
    out[0] = '\0';
    const char *p = resp->body, *end = resp->body ? resp->body + resp->body_len : NULL;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
            n--;
        if (n > 4 && memcmp(p, want, 3) == 0 && (p[3] == ' ' || p[3] == '-')) {
            size_t k = n - 4 < cap - 1 ? n - 4 : cap - 1;
            memcpy(out, p + 4, k);
            out[k] = '\0';
            for (char *c = out; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = ' ';
        }
        p = le + 1;
    }
}

/* 2xx after the final dot: sent (outbound_classify names it by its
 * Message-ID). 4xx: temporary; 5xx: refused for good, with the server's
 * own words. Anything else failed on the way (connection, TLS, a reply cut
 * short): retried, the outcome of a cut after the dot being unknown. */
static void email_classify(const void *cfgv, const struct outbound_response *resp, int64_t now_us,
                           struct outbound_result *res)
{
    const struct email_cfg *cfg = cfgv;
    (void)now_us;
    res->retry_after_ms = -1;
    long code = resp->status;
    if (!resp->transport_error && code >= 200 && code <= 299) {
        res->outcome = OUTBOUND_SENT;
        return;
    }
    char text[sizeof res->reason];
    if (code >= 400 && code <= 599) {
        email_reply_text(resp, code, text, sizeof text);
        res->outcome = code < 500 ? OUTBOUND_RETRY : OUTBOUND_FAILED;
        snprintf(res->code, sizeof res->code, "%ld", code);
        if (text[0])
            outbound_set_reason(res, text, cfg ? cfg->password : NULL);
        else
            snprintf(res->reason, sizeof res->reason, "the SMTP server answered %ld", code);
        return;
    }
    res->outcome = OUTBOUND_RETRY;
    if (resp->transport_error == CURLE_USE_SSL_FAILED) {
        snprintf(res->code, sizeof res->code, "starttls");
        snprintf(res->reason, sizeof res->reason,
                 "the SMTP server offers no STARTTLS: nothing is sent in clear");
        return;
    }
    snprintf(res->code, sizeof res->code, "transport");
    snprintf(res->reason, sizeof res->reason, "no answer from the SMTP server: %s",
             resp->transport_error ? curl_easy_strerror((CURLcode)resp->transport_error)
                                   : "the transfer ended without a reply");
}

/* --- the adapter ---------------------------------------------------------------- */

const struct outbound_adapter email_outbound = {
    .name = "email",
    .configure = email_configure,
    .destroy = email_destroy,
    .build = email_build,
    .classify = email_classify,
};
