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

#include "form.h"
#include "utf8.h"

/* A score "1".."max" exactly (no sign, blank or leading zero). 0 if not. */
static int parse_score(const char *s, int max)
{
    if (!s || strlen(s) != 1 || s[0] < '1' || s[0] > '0' + max)
        return 0;
    return s[0] - '0';
}

int survey_comment_normalise(char *s, int *blank)
{
    /* CRLF and lone CR become LF; then trim. */
    size_t j = 0, len = strlen(s);
    for (size_t i = 0; s[i];) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            s[j++] = '\n';
            i += s[i + 1] == '\n' ? 2 : 1;
            continue;
        }
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
            return -1;
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
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
    return utf8_count(s, end - start) > SURVEY_COMMENT_MAX ? -1 : 0;
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
    char *pair_buf = malloc(len + 2); /* each pair in turn (form.h) */
    if (!pair_buf)
        return -1;
    form_iter it;
    form_iter_init(&it, body, len);
    struct form_pair p;
    while (form_next(&it, pair_buf, &p)) {
        /* A decoded NUL ("%00") would cut the value short unseen. */
        bool nul = strlen(p.name) != p.name_len || strlen(p.value) != p.value_len;
        char **keep = NULL;
        /* A field given twice is refused, never "first/last wins". */
        if (strcmp(p.name, "csat") == 0) {
            f->a.csat = seen_csat ? 0 : parse_score(p.value, SURVEY_CSAT_MAX);
            seen_csat = true;
        } else if (strcmp(p.name, "ces") == 0) {
            f->a.ces = seen_ces ? 0 : parse_score(p.value, SURVEY_CES_MAX);
            seen_ces = true;
        } else if (strcmp(p.name, "comment") == 0) {
            if (seen_comment || nul)
                f->bad |= SURVEY_BAD_COMMENT;
            seen_comment = true;
            keep = &f->a.comment;
        } else if (strcmp(p.name, "csrf") == 0 && !f->csrf) {
            keep = &f->csrf;
        } else if (strcmp(p.name, "lang") == 0 && !f->lang) {
            keep = &f->lang;
        }
        if (keep) {
            free(*keep);
            if (!(*keep = strdup(p.value))) {
                free(pair_buf);
                survey_form_clear(f);
                return -1;
            }
        }
    }
    free(pair_buf);
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
