/* language.h — the department's two languages: Vietnamese (the default)
 * and English.
 *
 * Which language a customer writes in (language_guess: see language.c for
 * the heuristic), and which one a browser asks for (language_accept). The
 * survey words its invitation and page with them; the router tells courier
 * which language a reply or an acknowledgement is in. Pure functions, no
 * allocation.
 */
#ifndef CAREBUS_LANGUAGE_H
#define CAREBUS_LANGUAGE_H

typedef enum language_id { LANGUAGE_VI = 0, LANGUAGE_EN = 1 } language_id;

/* "vi" or "en". */
const char *language_code(language_id l);
/* "vi", "en" (case-insensitive; a region is allowed: "en-GB"). 0 or -1. */
int language_parse(const char *s, language_id *out);

/* The language of a customer's text (UTF-8; NULL or "" is Vietnamese). */
language_id language_guess(const char *text);

/* The best of vi and en in an Accept-Language header (highest q; on a tie,
 * the first listed). 1 with *out set, 0 when neither is acceptable or the
 * header is NULL. */
int language_accept(const char *header, language_id *out);

#endif
