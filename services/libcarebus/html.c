/* html.c — HTML escaping (see html.h). "&#39;" rather than "&apos;": HTML 4
 * did not define the latter. Runs of plain bytes are appended at once. */
#include "html.h"

#include <string.h>

void html_escape(buf *b, const char *s)
{
    if (!s)
        return;
    for (;;) {
        size_t run = strcspn(s, "&<>\"'");
        if (run)
            buf_append(b, s, run);
        s += run;
        if (!*s)
            return;
        switch (*s++) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        default:
            buf_puts(b, "&#39;");
            break;
        }
    }
}
