/* url.c — percent-decoding and -encoding (see url.h). */
#include "url.h"

#include "hex.h"

size_t url_decode(char *dst, const char *src, size_t n, url_part part)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (src[i] == '+' && part == URL_FORM) {
            dst[o++] = ' ';
        } else if (src[i] == '%' && n - i > 2 && (hi = hex_digit((unsigned char)src[i + 1])) >= 0 &&
                   (lo = hex_digit((unsigned char)src[i + 2])) >= 0) {
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = '\0';
    return o;
}

size_t url_encode(char *dst, const char *s)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '%';
            dst[o++] = digits[c >> 4];
            dst[o++] = digits[c & 15];
        }
    }
    dst[o] = '\0';
    return o;
}
