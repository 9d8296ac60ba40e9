/* url.c — percent-decoding (see url.h). */
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
