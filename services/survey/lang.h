/* lang.h — the survey's two languages: Vietnamese (the default) and English.
 *
 * The message sent to the customer is in the language of their contact,
 * guessed by survey_lang_guess (see lang.c for the heuristic). The page is
 * in the language the browser asks for (?lang=, then Accept-Language), else
 * the survey's, else Vietnamese. Pure functions, no allocation.
 */
#ifndef CAREBUS_SURVEY_LANG_H
#define CAREBUS_SURVEY_LANG_H

#include <stddef.h>

#include "buf.h"

typedef enum { LANG_VI = 0, LANG_EN = 1 } survey_lang;

/* "vi" or "en". */
const char *survey_lang_code(survey_lang l);
/* "vi", "en" (case-insensitive; a region is allowed: "en-GB"). 0 or -1. */
int survey_lang_parse(const char *s, survey_lang *out);

/* The language of a customer's text (UTF-8; NULL or "" is Vietnamese). */
survey_lang survey_lang_guess(const char *text);

/* The best of vi and en in an Accept-Language header (highest q; on a tie,
 * the first listed). 1 with *out set, 0 when neither is acceptable or the
 * header is NULL. */
int survey_lang_accept(const char *header, survey_lang *out);

/* The text that asks the customer to answer, with the link, appended to b. */
void survey_lang_request_text(buf *b, survey_lang l, const char *link);

#endif
