/* fold.c — the UTF-8 walk and the table of accented Latin letters.
 *
 * The table (fold_letters) maps each precomposed letter of Vietnamese and
 * of Latin-1 to its ASCII base and its marks: a modifier (1 circumflex,
 * 2 breve, 3 horn, 4 the stroke of đ, 5 another) and a tone (1 grave,
 * 2 acute, 3 tilde, 4 hook above, 5 dot below). Combining marks (NFD text)
 * add to the letter before them, so both forms give one signature. The
 * table was derived from Unicode's decompositions; it is data, sorted by
 * code point for a binary search. Characters are decoded by libcarebus's
 * strict decoder (utf8.h); an ill-formed byte separates words.
 */
#include "fold.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

struct fold_letter {
    uint32_t cp;
    char base;
    unsigned char mod, tone;
};

static const struct fold_letter fold_letters[] = {
    {0x00C0, 'a', 0, 1}, {0x00C1, 'a', 0, 2}, {0x00C2, 'a', 1, 0}, {0x00C3, 'a', 0, 3},
    {0x00C4, 'a', 5, 0}, {0x00C5, 'a', 5, 0}, {0x00C7, 'c', 5, 0}, {0x00C8, 'e', 0, 1},
    {0x00C9, 'e', 0, 2}, {0x00CA, 'e', 1, 0}, {0x00CB, 'e', 5, 0}, {0x00CC, 'i', 0, 1},
    {0x00CD, 'i', 0, 2}, {0x00CE, 'i', 1, 0}, {0x00CF, 'i', 5, 0}, {0x00D1, 'n', 0, 3},
    {0x00D2, 'o', 0, 1}, {0x00D3, 'o', 0, 2}, {0x00D4, 'o', 1, 0}, {0x00D5, 'o', 0, 3},
    {0x00D6, 'o', 5, 0}, {0x00D9, 'u', 0, 1}, {0x00DA, 'u', 0, 2}, {0x00DB, 'u', 1, 0},
    {0x00DC, 'u', 5, 0}, {0x00DD, 'y', 0, 2}, {0x00E0, 'a', 0, 1}, {0x00E1, 'a', 0, 2},
    {0x00E2, 'a', 1, 0}, {0x00E3, 'a', 0, 3}, {0x00E4, 'a', 5, 0}, {0x00E5, 'a', 5, 0},
    {0x00E7, 'c', 5, 0}, {0x00E8, 'e', 0, 1}, {0x00E9, 'e', 0, 2}, {0x00EA, 'e', 1, 0},
    {0x00EB, 'e', 5, 0}, {0x00EC, 'i', 0, 1}, {0x00ED, 'i', 0, 2}, {0x00EE, 'i', 1, 0},
    {0x00EF, 'i', 5, 0}, {0x00F1, 'n', 0, 3}, {0x00F2, 'o', 0, 1}, {0x00F3, 'o', 0, 2},
    {0x00F4, 'o', 1, 0}, {0x00F5, 'o', 0, 3}, {0x00F6, 'o', 5, 0}, {0x00F9, 'u', 0, 1},
    {0x00FA, 'u', 0, 2}, {0x00FB, 'u', 1, 0}, {0x00FC, 'u', 5, 0}, {0x00FD, 'y', 0, 2},
    {0x00FF, 'y', 5, 0}, {0x0102, 'a', 2, 0}, {0x0103, 'a', 2, 0}, {0x0110, 'd', 4, 0},
    {0x0111, 'd', 4, 0}, {0x0128, 'i', 0, 3}, {0x0129, 'i', 0, 3}, {0x0168, 'u', 0, 3},
    {0x0169, 'u', 0, 3}, {0x01A0, 'o', 3, 0}, {0x01A1, 'o', 3, 0}, {0x01AF, 'u', 3, 0},
    {0x01B0, 'u', 3, 0}, {0x1EA0, 'a', 0, 5}, {0x1EA1, 'a', 0, 5}, {0x1EA2, 'a', 0, 4},
    {0x1EA3, 'a', 0, 4}, {0x1EA4, 'a', 1, 2}, {0x1EA5, 'a', 1, 2}, {0x1EA6, 'a', 1, 1},
    {0x1EA7, 'a', 1, 1}, {0x1EA8, 'a', 1, 4}, {0x1EA9, 'a', 1, 4}, {0x1EAA, 'a', 1, 3},
    {0x1EAB, 'a', 1, 3}, {0x1EAC, 'a', 1, 5}, {0x1EAD, 'a', 1, 5}, {0x1EAE, 'a', 2, 2},
    {0x1EAF, 'a', 2, 2}, {0x1EB0, 'a', 2, 1}, {0x1EB1, 'a', 2, 1}, {0x1EB2, 'a', 2, 4},
    {0x1EB3, 'a', 2, 4}, {0x1EB4, 'a', 2, 3}, {0x1EB5, 'a', 2, 3}, {0x1EB6, 'a', 2, 5},
    {0x1EB7, 'a', 2, 5}, {0x1EB8, 'e', 0, 5}, {0x1EB9, 'e', 0, 5}, {0x1EBA, 'e', 0, 4},
    {0x1EBB, 'e', 0, 4}, {0x1EBC, 'e', 0, 3}, {0x1EBD, 'e', 0, 3}, {0x1EBE, 'e', 1, 2},
    {0x1EBF, 'e', 1, 2}, {0x1EC0, 'e', 1, 1}, {0x1EC1, 'e', 1, 1}, {0x1EC2, 'e', 1, 4},
    {0x1EC3, 'e', 1, 4}, {0x1EC4, 'e', 1, 3}, {0x1EC5, 'e', 1, 3}, {0x1EC6, 'e', 1, 5},
    {0x1EC7, 'e', 1, 5}, {0x1EC8, 'i', 0, 4}, {0x1EC9, 'i', 0, 4}, {0x1ECA, 'i', 0, 5},
    {0x1ECB, 'i', 0, 5}, {0x1ECC, 'o', 0, 5}, {0x1ECD, 'o', 0, 5}, {0x1ECE, 'o', 0, 4},
    {0x1ECF, 'o', 0, 4}, {0x1ED0, 'o', 1, 2}, {0x1ED1, 'o', 1, 2}, {0x1ED2, 'o', 1, 1},
    {0x1ED3, 'o', 1, 1}, {0x1ED4, 'o', 1, 4}, {0x1ED5, 'o', 1, 4}, {0x1ED6, 'o', 1, 3},
    {0x1ED7, 'o', 1, 3}, {0x1ED8, 'o', 1, 5}, {0x1ED9, 'o', 1, 5}, {0x1EDA, 'o', 3, 2},
    {0x1EDB, 'o', 3, 2}, {0x1EDC, 'o', 3, 1}, {0x1EDD, 'o', 3, 1}, {0x1EDE, 'o', 3, 4},
    {0x1EDF, 'o', 3, 4}, {0x1EE0, 'o', 3, 3}, {0x1EE1, 'o', 3, 3}, {0x1EE2, 'o', 3, 5},
    {0x1EE3, 'o', 3, 5}, {0x1EE4, 'u', 0, 5}, {0x1EE5, 'u', 0, 5}, {0x1EE6, 'u', 0, 4},
    {0x1EE7, 'u', 0, 4}, {0x1EE8, 'u', 3, 2}, {0x1EE9, 'u', 3, 2}, {0x1EEA, 'u', 3, 1},
    {0x1EEB, 'u', 3, 1}, {0x1EEC, 'u', 3, 4}, {0x1EED, 'u', 3, 4}, {0x1EEE, 'u', 3, 3},
    {0x1EEF, 'u', 3, 3}, {0x1EF0, 'u', 3, 5}, {0x1EF1, 'u', 3, 5}, {0x1EF2, 'y', 0, 1},
    {0x1EF3, 'y', 0, 1}, {0x1EF4, 'y', 0, 5}, {0x1EF5, 'y', 0, 5}, {0x1EF6, 'y', 0, 4},
    {0x1EF7, 'y', 0, 4}, {0x1EF8, 'y', 0, 3}, {0x1EF9, 'y', 0, 3},
};

#define MARK(mod, tone) ((unsigned char)((mod)*8 + (tone)))

static const struct fold_letter *fold_letter_find(uint32_t cp)
{
    size_t lo = 0, hi = sizeof fold_letters / sizeof fold_letters[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (fold_letters[mid].cp == cp)
            return &fold_letters[mid];
        if (fold_letters[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Punctuation and spaces outside ASCII: word separators. */
static bool fold_separator(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0xbf) || cp == 0xd7 || cp == 0xf7 ||
           (cp >= 0x2000 && cp <= 0x206f) || (cp >= 0x3000 && cp <= 0x3003) ||
           (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff;
}

/* A combining mark's contribution to the letter before it. */
static bool fold_combining(uint32_t cp, unsigned char *mod, unsigned char *tone)
{
    *mod = 0;
    *tone = 0;
    switch (cp) {
    case 0x0302:
        *mod = 1;
        return true;
    case 0x0306:
        *mod = 2;
        return true;
    case 0x031b:
        *mod = 3;
        return true;
    case 0x0300:
        *tone = 1;
        return true;
    case 0x0301:
        *tone = 2;
        return true;
    case 0x0303:
        *tone = 3;
        return true;
    case 0x0309:
        *tone = 4;
        return true;
    case 0x0323:
        *tone = 5;
        return true;
    default:
        if (cp >= 0x0300 && cp <= 0x036f) {
            *mod = 5;
            return true;
        }
        return false;
    }
}

static int fold_reserve(fold_text *t, size_t bytes, size_t words)
{
    /* Capacities are the lengths rounded up: the arrays only grow here. */
    size_t cap = 64;
    while (cap < t->len + bytes)
        cap *= 2;
    char *f = realloc(t->folded, cap);
    if (!f)
        return -1;
    t->folded = f;
    unsigned char *m = realloc(t->marks, cap);
    if (!m)
        return -1;
    t->marks = m;
    size_t wcap = 16;
    while (wcap < t->nwords + words)
        wcap *= 2;
    struct fold_word *w = realloc(t->words, wcap * sizeof *w);
    if (!w)
        return -1;
    t->words = w;
    return 0;
}

int fold_append(fold_text *t, const char *s)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, FOLD_MAX_BYTES);
    /* Each input byte gives at most one folded byte, and at most every
     * other byte starts a word. */
    if (fold_reserve(t, n + 1, n / 2 + 1) != 0) {
        fold_release(t);
        return -1;
    }
    bool in_word = false;
    struct fold_word *w = NULL;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        unsigned char mod, tone;
        if (len == 0) {
            in_word = false; /* an invalid byte separates */
            i++;
            continue;
        }
        if (fold_combining(cp, &mod, &tone)) {
            if (in_word && w->len > 0) {
                unsigned char *m = &t->marks[w->off + w->len - 1];
                unsigned char om = *m / 8, ot = *m % 8;
                *m = MARK(mod ? mod : om, tone ? tone : ot);
                w->marked = true;
            }
            i += len;
            continue;
        }
        bool ascii_alnum = cp < 0x80 && ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                                         (cp >= '0' && cp <= '9'));
        if ((cp < 0x80 && !ascii_alnum) || fold_separator(cp)) {
            in_word = false;
            i += len;
            continue;
        }
        if (!in_word) {
            w = &t->words[t->nwords++];
            w->off = t->len;
            w->len = 0;
            w->marked = false;
            in_word = true;
        }
        const struct fold_letter *l = cp >= 0x80 ? fold_letter_find(cp) : NULL;
        if (cp < 0x80) {
            t->folded[t->len] = (char)(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
            t->marks[t->len++] = 0;
            w->len++;
        } else if (l) {
            t->folded[t->len] = l->base;
            t->marks[t->len++] = MARK(l->mod, l->tone);
            w->len++;
            w->marked = true;
        } else {
            /* Another script: its bytes as they are, without marks. */
            memcpy(t->folded + t->len, s + i, len);
            memset(t->marks + t->len, 0, len);
            t->len += len;
            w->len += len;
        }
        i += len;
    }
    t->folded[t->len] = '\0';
    return 0;
}

int fold_init(fold_text *t, const char *s)
{
    memset(t, 0, sizeof *t);
    if (fold_reserve(t, 1, 1) != 0) {
        fold_release(t);
        return -1;
    }
    t->folded[0] = '\0';
    return fold_append(t, s);
}

void fold_release(fold_text *t)
{
    free(t->folded);
    free(t->marks);
    free(t->words);
    memset(t, 0, sizeof *t);
}

static bool fold_word_eq(const fold_text *a, const struct fold_word *x, const fold_text *b,
                         const struct fold_word *y)
{
    if (x->len != y->len || memcmp(a->folded + x->off, b->folded + y->off, x->len) != 0)
        return false;
    if (!x->marked || !y->marked)
        return true;
    return memcmp(a->marks + x->off, b->marks + y->off, x->len) == 0;
}

bool fold_contains(const fold_text *text, const fold_text *phrase)
{
    size_t m = phrase->nwords;
    if (m == 0 || m > text->nwords)
        return false;
    for (size_t i = 0; i + m <= text->nwords; i++) {
        size_t j = 0;
        while (j < m && fold_word_eq(text, &text->words[i + j], phrase, &phrase->words[j]))
            j++;
        if (j == m)
            return true;
    }
    return false;
}

void fold_string(const fold_text *t, char *out, size_t n)
{
    size_t o = 0;
    if (n == 0)
        return;
    for (size_t i = 0; i < t->nwords && o + 1 < n; i++) {
        if (i > 0)
            out[o++] = ' ';
        for (size_t k = 0; k < t->words[i].len && o + 1 < n; k++)
            out[o++] = t->folded[t->words[i].off + k];
    }
    out[o] = '\0';
}
