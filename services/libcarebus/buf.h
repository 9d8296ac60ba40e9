/* buf.h — a growable byte buffer, always NUL-terminated (git's strbuf). */
#ifndef CAREBUS_BUF_H
#define CAREBUS_BUF_H

#include <stddef.h>

typedef struct buf {
    char *data; /* NULL until the first append; "" through buf_str */
    size_t len;
    size_t cap;
    int failed; /* an allocation failed: the content is incomplete */
} buf;

#define BUF_INIT {NULL, 0, 0, 0}

void buf_append(buf *b, const void *data, size_t len);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Borrowed view, never NULL. */
const char *buf_str(const buf *b);
/* Hands the memory to the caller (NULL if nothing or on failure); b is reset. */
char *buf_detach(buf *b, size_t *len);
void buf_reset(buf *b); /* keeps the memory */
void buf_release(buf *b);

#endif
