/* jsondepth.c — the nesting depth of JSON text (see jsondepth.h). */
#include "jsondepth.h"

bool jsondepth_ok(const char *s, size_t n, size_t max_depth)
{
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character, whatever it is */
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return false;
            break;
        case ']':
        case '}':
            /* Unbalanced closers are the parser's to refuse. */
            if (depth)
                depth--;
            break;
        default:
            break;
        }
    }
    return true;
}
