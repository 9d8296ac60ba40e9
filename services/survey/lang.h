/* lang.h — the survey's words in the customer's language.
 *
 * The message sent to the customer is in the language of their contact,
 * guessed by language_guess (language.h). The page is in the language the
 * browser asks for (?lang=, then Accept-Language), else the survey's, else
 * Vietnamese. Pure functions, no allocation.
 */
#ifndef CAREBUS_SURVEY_LANG_H
#define CAREBUS_SURVEY_LANG_H

#include "buf.h"
#include "language.h"

/* The text that asks the customer to answer, with the link, appended to b. */
void survey_lang_request_text(buf *b, language_id l, const char *link);

#endif
