/* form.h — application/x-www-form-urlencoded bodies (Twilio's webhooks).
 *
 * The WHATWG URL standard's parsing: pairs split on "&", name and value on
 * the first "=", "+" is a space, "%XX" a byte ("%" not followed by two hex
 * digits stays as it is). Empty sequences between "&"s are skipped; a pair
 * without "=" has the empty value. Names and values are decoded into one
 * owned buffer.
 *
 * Stricter than the standard where a C consumer needs it: a decoded NUL, or
 * a name or value that is not well-formed UTF-8, refuses the whole body
 * (the strings go into protobuf string fields and C strings).
 */
#ifndef WEBHOOK_FORM_H
#define WEBHOOK_FORM_H

#include <stdbool.h>
#include <stddef.h>

#define FORM_MAX_PAIRS 256

struct form_pair {
    const char *name; /* into form.buf, NUL-terminated */
    const char *value;
};

struct form {
    struct form_pair *pairs; /* in body order */
    size_t n;
    char *buf;
};

/* Parses body (len bytes, need not be NUL-terminated) into f, which must be
 * zeroed or released. 0, or -1 (more than FORM_MAX_PAIRS pairs, a decoded
 * NUL, invalid UTF-8, or out of memory) with f left empty. */
int form_parse(const char *body, size_t len, struct form *f);
void form_release(struct form *f);

/* The first value of name, or NULL. */
const char *form_get(const struct form *f, const char *name);

/* True when s (n bytes) is well-formed UTF-8: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
bool form_utf8_valid(const char *s, size_t n);

#endif
