/* base64url.h — bytes as URL-safe base64 text (RFC 4648 §5), and back.
 *
 * No padding, and strict on the way back: a character outside the
 * alphabet, a length no byte count gives, or stray low bits in the last
 * character are refused, so that every value has exactly one spelling
 * (tokens and cursors compare as text). Pure functions.
 */
#ifndef CAREBUS_BASE64URL_H
#define CAREBUS_BASE64URL_H

#include <stddef.h>

/* The length base64url_encode writes for n bytes, without the NUL. */
#define BASE64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* Encodes n bytes into out (BASE64URL_LEN(n) + 1 bytes, NUL-terminated).
 * Returns the length written. */
size_t base64url_encode(const unsigned char *in, size_t n, char *out);

/* Decodes len characters (need not be NUL-terminated) into out. Returns
 * the decoded length, or -1 on a character outside the alphabet, a bad
 * length, stray bits, or more than cap bytes. */
int base64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif
