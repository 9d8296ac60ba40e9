/* utf8.h — UTF-8: one strict decoder, and what the services build on it.
 *
 * Well-formed means what RFC 3629 and jansson mean: no overlong forms, no
 * UTF-16 surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no missing or
 * stray continuation bytes. Every caller that meets an ill-formed byte
 * skips that one byte (and may write a replacement for it), so the decoder
 * only has to say "not here". Pure functions.
 */
#ifndef CAREBUS_UTF8_H
#define CAREBUS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu
/* U+FFFD as UTF-8, for utf8_copy. */
#define UTF8_REPLACEMENT_STR "\xEF\xBF\xBD"

/* Decodes the character at s (n >= 1 bytes available): its length (1..4)
 * with the code point in *cp, or 0 when the bytes there are not a
 * well-formed character (*cp is then UTF8_REPLACEMENT). After s[0] it reads
 * only while each byte is a needed continuation byte, so it never reads past
 * a NUL: for a NUL-terminated s, any n at least its length will do. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* True when s[0..n) is well-formed UTF-8 (NUL bytes included as U+0000). */
bool utf8_valid(const char *s, size_t n);

/* The number of characters in s[0..n), which must be well-formed. */
size_t utf8_count(const char *s, size_t n);

/* Copies the NUL-terminated src into dst (cap >= 1 bytes, NUL included) as
 * well-formed UTF-8: each ill-formed byte becomes repl (e.g. "?" or
 * UTF8_REPLACEMENT_STR), and the copy stops before the first character or
 * replacement that would not fit, so a character is never cut. src NULL
 * is "". Returns the bytes written before the NUL. */
size_t utf8_copy(char *dst, size_t cap, const char *src, const char *repl);

#endif
