/* placeholder.h — texts with {placeholders}: acknowledgements, canned
 * replies.
 *
 * A placeholder is "{" lower-case letters and "_" "}"; any other brace is
 * text and stays as written. A template is checked once, when it is
 * configured or saved (an unknown placeholder is refused there, not sent
 * to a customer), and rendered with the values of the moment. Pure
 * functions.
 */
#ifndef CAREBUS_PLACEHOLDER_H
#define CAREBUS_PLACEHOLDER_H

#include <stddef.h>

#include "buf.h"

#define PLACEHOLDER_NAME_MAX 32

struct placeholder {
    const char *name;  /* without braces: "customer_name" */
    const char *value; /* NULL: "" */
};

/* 0 when every placeholder of text is one of known[0..n); otherwise -1
 * with the first unknown name (without braces, cut to fit) in bad. */
int placeholder_check(const char *text, const char *const *known, size_t n,
                      char bad[PLACEHOLDER_NAME_MAX + 1]);

/* Appends text to out with each placeholder of vals[0..n) replaced by its
 * value; others stay as written. */
void placeholder_render(const char *text, const struct placeholder *vals, size_t n, buf *out);

#endif
