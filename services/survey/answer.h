/* answer.h — a survey answer: parsing and validation for the form and the API.
 *
 * CSAT is 1..5, CES 1..7 ("the company made it easy to handle my issue"),
 * the comment optional, at most SURVEY_COMMENT_MAX characters of UTF-8
 * (line ends normalised to "\n", blanks around it trimmed, no control
 * characters but tab and line ends). The form asks for both scores; the API
 * takes either or both (a chat bot may ask one question). Pure functions.
 */
#ifndef CAREBUS_SURVEY_ANSWER_H
#define CAREBUS_SURVEY_ANSWER_H

#include <stddef.h>

#define SURVEY_COMMENT_MAX 2000
#define SURVEY_CSAT_MAX 5
#define SURVEY_CES_MAX 7

struct survey_answer {
    int csat;      /* 0: absent */
    int ces;       /* 0: absent */
    char *comment; /* owned; NULL when absent or blank */
};

/* Bits of survey_form.bad: which fields are missing or invalid. */
enum {
    SURVEY_BAD_CSAT = 1u << 0,
    SURVEY_BAD_CES = 1u << 1,
    SURVEY_BAD_COMMENT = 1u << 2,
};

struct survey_form {
    struct survey_answer a;
    char *csrf; /* owned, NULL when absent */
    char *lang; /* owned, NULL when absent */
    unsigned bad;
};

/* Parses an application/x-www-form-urlencoded body (fields csat, ces,
 * comment, csrf, lang; others are ignored). Invalid or missing scores and
 * an invalid comment set bits of f->bad (the rest is still parsed, so that
 * the form can be shown again with what was typed). -1 only when out of
 * memory. Free with survey_form_clear. */
int survey_form_parse(const char *body, size_t len, struct survey_form *f);
void survey_form_clear(struct survey_form *f);

/* Parses {"csat":5,"ces":6,"comment":"..."}. 0, or -1 with *field (NULL
 * when the body as a whole is wrong) and a lower-case message in msg. Free
 * with survey_answer_clear. */
int survey_answer_json(const char *body, size_t len, struct survey_answer *a, const char **field,
                       char *msg, size_t msglen);
void survey_answer_clear(struct survey_answer *a);

/* Normalises a comment (see above) in place. 0, or -1 when it is not valid
 * UTF-8, holds a control character or is too long. *blank: nothing left. */
int survey_comment_normalise(char *s, int *blank);

#endif
