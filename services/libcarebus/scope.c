/* scope.c — the scopes' names, parsing and the grants between them, all
 * derived from SCOPE_LIST.
 */
#include "scope.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned also; /* the scopes that grant this one too */
    const char *doc;
} scopes[SCOPE_COUNT] = {
#define SCOPE_X_ROW(id, n, a, d) [SCOPE_BIT_##id] = {n, a, d},
    SCOPE_LIST(SCOPE_X_ROW)
#undef SCOPE_X_ROW
};

/* The index of a single-bit scope, or -1. */
static int scope_index(unsigned scope)
{
    for (int i = 0; i < SCOPE_COUNT; i++)
        if (scope == 1u << i)
            return i;
    return -1;
}

const char *scope_name(unsigned scope)
{
    int i = scope_index(scope);
    return i < 0 ? NULL : scopes[i].name;
}

const char *scope_doc(unsigned scope)
{
    int i = scope_index(scope);
    return i < 0 ? NULL : scopes[i].doc;
}

const char *scope_names(void)
{
    static char list[128];
    if (!list[0]) {
        size_t n = 0;
        for (int i = 0; i < SCOPE_COUNT; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", scopes[i].name);
    }
    return list;
}

int scope_parse(const char *list, unsigned *mask, char *bad, size_t badlen)
{
    int unknown = 0;
    *mask = 0;
    if (bad && badlen)
        bad[0] = '\0';
    while (list && *list) {
        size_t k = strcspn(list, ",");
        const char *p = list;
        size_t m = k;
        while (m && *p == ' ')
            p++, m--;
        while (m && p[m - 1] == ' ')
            m--;
        int found = -1;
        for (int i = 0; i < SCOPE_COUNT && found < 0; i++)
            if (strlen(scopes[i].name) == m && memcmp(scopes[i].name, p, m) == 0)
                found = i;
        if (found >= 0) {
            *mask |= 1u << found;
        } else if (m) {
            if (!unknown && bad && badlen)
                snprintf(bad, badlen, "%.*s", (int)m, p);
            unknown++;
        }
        list += k;
        if (*list == ',')
            list++;
    }
    return unknown;
}

int scope_format(unsigned mask, char *out, size_t n)
{
    size_t len = 0;
    if (!n)
        return -1;
    out[0] = '\0';
    for (int i = 0; i < SCOPE_COUNT; i++) {
        if (!(mask & 1u << i))
            continue;
        int w = snprintf(out + len, n - len, "%s%s", len ? "," : "", scopes[i].name);
        if (w < 0 || (size_t)w >= n - len)
            return -1;
        len += (size_t)w;
    }
    return (int)len;
}

bool scope_grants(unsigned have, unsigned need)
{
    if (need == SCOPE_PUBLIC)
        return true;
    int i = scope_index(need);
    /* A route declares exactly one scope: anything else grants nothing. */
    return i >= 0 && (have & (need | scopes[i].also)) != 0;
}
