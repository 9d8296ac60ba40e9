/* answer.c — parsing answers from the form and from JSON; see answer.h.
 *
 * The form decoder keeps what it could read even when a field is wrong, so
 * that the page can show the form again with the customer's comment and
 * choices, rather than make them type it again.
 */
#include "answer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a form value ('+' is a blank, %XX a byte). *nul: it held a %00. */
static char *form_decode(const char *s, size_t n, bool *nul)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    *nul = false;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
                   (lo = hexval(s[i + 2])) >= 0) {
            char c = (char)(hi << 4 | lo);
            if (c == '\0')
                *nul = true;
            out[j++] = c;
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* A score "1".."max" exactly (no sign, blank or leading zero). 0 if not. */
static int parse_score(const char *s, int max)
{
    if (!s || strlen(s) != 1 || s[0] < '1' || s[0] > '0' + max)
        return 0;
    return s[0] - '0';
}

/* Length of the UTF-8 sequence at p (strict: no overlongs, surrogates or
 * code points past U+10FFFF), 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        if ((p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        if ((p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

int survey_comment_normalise(char *s, int *blank)
{
    /* CRLF and lone CR become LF; then trim. */
    size_t j = 0;
    for (size_t i = 0; s[i];) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            s[j++] = '\n';
            i += s[i + 1] == '\n' ? 2 : 1;
            continue;
        }
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
            return -1;
        size_t n = utf8_len((const unsigned char *)s + i);
        if (n == 0)
            return -1;
        memmove(s + j, s + i, n);
        j += n;
        i += n;
    }
    s[j] = '\0';
    size_t start = 0;
    while (s[start] == ' ' || s[start] == '\t' || s[start] == '\n')
        start++;
    size_t end = j;
    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\n'))
        end--;
    memmove(s, s + start, end - start);
    s[end - start] = '\0';
    *blank = end == start;
    /* Characters are what the customer sees: count code points, after the
     * trim. */
    size_t kept = 0;
    for (size_t i = 0; s[i]; i++)
        kept += ((unsigned char)s[i] & 0xC0) != 0x80;
    return kept > SURVEY_COMMENT_MAX ? -1 : 0;
}

void survey_answer_clear(struct survey_answer *a)
{
    free(a->comment);
    *a = (struct survey_answer){0};
}

void survey_form_clear(struct survey_form *f)
{
    survey_answer_clear(&f->a);
    free(f->csrf);
    free(f->lang);
    *f = (struct survey_form){0};
}

int survey_form_parse(const char *body, size_t len, struct survey_form *f)
{
    *f = (struct survey_form){0};
    bool seen_csat = false, seen_ces = false, seen_comment = false;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && body[eq] != '=')
            eq++;
        bool nul;
        char *name = form_decode(body + i, eq - i, &nul);
        char *value = eq < end ? form_decode(body + eq + 1, end - eq - 1, &nul) : strdup("");
        if (!name || !value) {
            free(name);
            free(value);
            survey_form_clear(f);
            return -1;
        }
        /* A field given twice is refused, never "first/last wins". */
        if (strcmp(name, "csat") == 0) {
            f->a.csat = seen_csat ? 0 : parse_score(value, SURVEY_CSAT_MAX);
            seen_csat = true;
        } else if (strcmp(name, "ces") == 0) {
            f->a.ces = seen_ces ? 0 : parse_score(value, SURVEY_CES_MAX);
            seen_ces = true;
        } else if (strcmp(name, "comment") == 0) {
            if (seen_comment || nul)
                f->bad |= SURVEY_BAD_COMMENT;
            seen_comment = true;
            free(f->a.comment);
            f->a.comment = value;
            value = NULL;
        } else if (strcmp(name, "csrf") == 0 && !f->csrf) {
            f->csrf = value;
            value = NULL;
        } else if (strcmp(name, "lang") == 0 && !f->lang) {
            f->lang = value;
            value = NULL;
        }
        free(name);
        free(value);
        i = end + 1;
    }
    if (!f->a.csat)
        f->bad |= SURVEY_BAD_CSAT;
    if (!f->a.ces)
        f->bad |= SURVEY_BAD_CES;
    if (f->a.comment) {
        int blank;
        if (survey_comment_normalise(f->a.comment, &blank) != 0) {
            f->bad |= SURVEY_BAD_COMMENT;
        } else if (blank) {
            free(f->a.comment);
            f->a.comment = NULL;
        }
    }
    return 0;
}

/* Reads an optional score; -1 with msg when present but not an integer in
 * 1..max. */
static int json_score(json_t *root, const char *name, int max, int *out, char *msg, size_t msglen)
{
    json_t *v = json_object_get(root, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max) {
        snprintf(msg, msglen, "\"%s\" must be an integer from 1 to %d", name, max);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

int survey_answer_json(const char *body, size_t len, struct survey_answer *a, const char **field,
                       char *msg, size_t msglen)
{
    *a = (struct survey_answer){0};
    *field = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(msg, msglen, "the body is not valid JSON: %s", jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(msg, msglen, "the body must be a JSON object");
        goto out;
    }
    if (json_score(root, "csat", SURVEY_CSAT_MAX, &a->csat, msg, msglen) != 0) {
        *field = "csat";
        goto out;
    }
    if (json_score(root, "ces", SURVEY_CES_MAX, &a->ces, msg, msglen) != 0) {
        *field = "ces";
        goto out;
    }
    if (!a->csat && !a->ces) {
        *field = "csat";
        snprintf(msg, msglen, "give \"csat\" (1 to 5), \"ces\" (1 to 7) or both");
        goto out;
    }
    json_t *c = json_object_get(root, "comment");
    if (c && !json_is_null(c)) {
        int blank;
        if (!json_is_string(c) || !(a->comment = strdup(json_string_value(c))) ||
            strlen(a->comment) != json_string_length(c) ||
            survey_comment_normalise(a->comment, &blank) != 0) {
            *field = "comment";
            snprintf(msg, msglen,
                     "\"comment\" must be a string of at most %d characters without control "
                     "characters",
                     SURVEY_COMMENT_MAX);
            goto out;
        }
        if (blank) {
            free(a->comment);
            a->comment = NULL;
        }
    }
    rc = 0;
out:
    json_decref(root);
    if (rc != 0)
        survey_answer_clear(a);
    return rc;
}
