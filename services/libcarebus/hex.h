/* hex.h — bytes as hexadecimal text, and back.
 *
 * Encoding writes lower case (what PostgreSQL's encode(..., 'hex') and the
 * webhooks' signatures use); decoding takes either case and is strict: the
 * text must be exactly two digits a byte, nothing else. Pure functions.
 */
#ifndef CAREBUS_HEX_H
#define CAREBUS_HEX_H

#include <stddef.h>

/* The value of the hex digit c (either case), or -1 when c is not one. */
int hex_digit(int c);

/* Lower-case hex of n bytes at p into out (2n + 1 bytes, NUL-terminated). */
void hex_encode(const void *p, size_t n, char *out);

/* Decodes hex (len characters, need not be NUL-terminated) into exactly n
 * bytes at out. 0, or -1 when len is not 2n or a character is not a hex
 * digit (out is then partly written). */
int hex_decode(const char *hex, size_t len, unsigned char *out, size_t n);

#endif
