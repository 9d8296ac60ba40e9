/* msgid.c — a msg-id bare or in angle brackets (msgid.h). Only the
 * spelling is converted: what a msg-id may contain is the email adapters'
 * to check, where one is written into a message. */
#include "msgid.h"

#include <stdio.h>
#include <string.h>

/* The bare part of s: start and length. */
static const char *msgid_span(const char *s, size_t *n)
{
    s += strspn(s, " \t\r\n");
    size_t len = strlen(s);
    while (len && strchr(" \t\r\n", s[len - 1]))
        len--;
    if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
        s++;
        len -= 2;
    }
    *n = len;
    return s;
}

int msgid_bare(const char *s, char *out, size_t size)
{
    size_t n = 0;
    const char *b = s ? msgid_span(s, &n) : NULL;
    if (size)
        out[0] = '\0';
    if (!b || n == 0 || n >= size)
        return -1;
    memcpy(out, b, n);
    out[n] = '\0';
    return 0;
}

int msgid_angle(const char *s, char *out, size_t size)
{
    size_t n = 0;
    const char *b = s ? msgid_span(s, &n) : NULL;
    if (size)
        out[0] = '\0';
    if (!b || n == 0 || n + 2 >= size)
        return -1;
    snprintf(out, size, "<%.*s>", (int)n, b);
    return 0;
}
