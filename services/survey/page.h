/* page.h — the survey's HTML: the form, the thank-you page, the notices, and
 * the service's front page with an example of the form.
 *
 * Small, self-contained pages: inline CSS only (allowed by its hash in the
 * Content-Security-Policy), no script, no external asset. Accessible: one
 * fieldset and legend per question, a label for every control, native radio
 * groups (arrow keys), visible focus, contrast of at least 4.5:1, errors
 * announced (role="alert") and tied to their question. Mobile first.
 *
 * Links inside the page are relative ("<token>", "?lang=en"), so the pages
 * also work behind a proxy that serves them under a path prefix.
 */
#ifndef CAREBUS_SURVEY_PAGE_H
#define CAREBUS_SURVEY_PAGE_H

#include <stdbool.h>

#include "buf.h"
#include "lang.h"

struct survey_form_view {
    language_id lang;
    const char *token;   /* the link token: the form posts back to it */
    const char *csrf;    /* the hidden CSRF field */
    int csat, ces;       /* choices to show again; 0: none */
    const char *comment; /* to show again; NULL: none */
    unsigned bad;        /* SURVEY_BAD_* bits to explain; 0: a fresh form */
    bool example;        /* the front page's example: says nothing is recorded */
};

typedef enum {
    NOTICE_INVALID,     /* forged, malformed or unknown link (404) */
    NOTICE_EXPIRED,     /* 410 */
    NOTICE_ANSWERED,    /* a second answer (409) */
    NOTICE_CSRF,        /* a submission without a valid form token (403) */
    NOTICE_UNAVAILABLE, /* PostgreSQL unavailable (503) */
    NOTICE_BAD_REQUEST, /* not a form post (415) */
    NOTICE_EXAMPLE,     /* the example form was sent: nothing recorded (200) */
} survey_notice;

void survey_page_form(buf *b, const struct survey_form_view *v);
void survey_page_thanks(buf *b, language_id l);
/* token: for the "open the survey again" link of NOTICE_CSRF (may be NULL). */
void survey_page_notice(buf *b, language_id l, survey_notice n, const char *token);
/* GET /: what the service does, where links come from, the example's link. */
void survey_page_home(buf *b, language_id l);

/* The Content-Security-Policy of every page (static storage). */
const char *survey_page_csp(void);

#endif
