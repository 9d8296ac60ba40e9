/* url.h — percent-decoding (RFC 3986 section 2.1), one decoder for HTTP
 * path segments and for form bodies, and its inverse for query values.
 *
 * "%XX" (either case) is the byte 0xXX; a '%' not followed by two hex
 * digits stays as it is, as browsers and the WHATWG URL standard do. Only
 * in a form body is '+' a blank. A decoded NUL is written like any byte:
 * the returned length tells it apart from the end. Pure.
 */
#ifndef CAREBUS_URL_H
#define CAREBUS_URL_H

#include <stddef.h>

typedef enum {
    URL_PATH, /* a path segment: '+' is itself */
    URL_FORM, /* application/x-www-form-urlencoded: '+' is a blank */
} url_part;

/* Decodes src[0..n) into dst, which needs n + 1 bytes (decoding never
 * grows a string), and NUL-terminates it. Returns the decoded length. */
size_t url_decode(char *dst, const char *src, size_t n, url_part part);

/* Percent-encodes s for a query value: every byte but RFC 3986's
 * unreserved ones (letters, digits, "-._~") becomes "%XX". dst needs
 * 3 * strlen(s) + 1 bytes. Returns the encoded length. */
size_t url_encode(char *dst, const char *s);

#endif
