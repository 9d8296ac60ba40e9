/* form.h — application/x-www-form-urlencoded bodies.
 *
 * The WHATWG URL standard's parsing: pairs split on "&" (empty ones
 * skipped), name and value on the first "=" (none: the empty value), each
 * percent-decoded with '+' as a blank (url.h). form_next walks the pairs and
 * judges nothing (the survey form keeps going past a bad field); form_parse
 * collects a body for consumers that pass the strings on as C and protobuf
 * strings (Twilio's webhooks), so a decoded NUL, ill-formed UTF-8 or more
 * than FORM_MAX_PAIRS pairs refuses the whole body. form_append writes one
 * (Twilio's requests), encoded by url.h's encoder: a blank is "%20", which
 * every decoder reads as the "+" would be.
 */
#ifndef CAREBUS_FORM_H
#define CAREBUS_FORM_H

#include <stdbool.h>
#include <stddef.h>

#define FORM_MAX_PAIRS 256

struct form_pair {
    const char *name; /* decoded and NUL-terminated; borrowed (see below) */
    const char *value;
    size_t name_len, value_len; /* not strlen's when a NUL was decoded */
};

/* --- walking ---------------------------------------------------------------- */

typedef struct form_iter {
    const char *p, *end;
} form_iter;

/* Walks body (len bytes, need not be NUL-terminated), which must outlive
 * the walk. */
void form_iter_init(form_iter *it, const char *body, size_t len);

/* Decodes the next pair into out as "name NUL value NUL" and points pair
 * into it. out needs the pair's raw length plus 2 bytes: the body's length
 * plus 2 always suffices, and can be reused for each pair. False after the
 * last pair. */
bool form_next(form_iter *it, char *out, struct form_pair *pair);

/* --- a whole body ----------------------------------------------------------- */

struct form {
    struct form_pair *pairs; /* in body order, pointing into buf */
    size_t n;
    char *buf;
};

/* Parses body (len bytes, need not be NUL-terminated) into f, which must
 * be zeroed or released. 0, or -1 (more than FORM_MAX_PAIRS pairs, a
 * decoded NUL, invalid UTF-8, or out of memory) with f left empty. */
int form_parse(const char *body, size_t len, struct form *f);
void form_release(struct form *f);

/* The first value of name, or NULL. Borrowed from f. */
const char *form_get(const struct form *f, const char *name);

/* --- writing ------------------------------------------------------------------ */

/* Appends "name=value" to b, percent-encoded, after a "&" when b is not
 * empty. An allocation failure sets b->failed (buf.h). */
struct buf; /* buf.h; by its tag, so that includers keep "buf" free for their names */
void form_append(struct buf *b, const char *name, const char *value);

#endif
