/* fold.h — matching words in Vietnamese and English text, insensitive to
 * case and to Vietnamese diacritics.
 *
 * A text is cut into words (Vietnamese syllables) at anything that is not a
 * letter or a digit. Each word is folded to lower-case ASCII ("Khiếu" ->
 * "khieu", "đổi" -> "doi") and keeps a signature of its diacritics, one
 * byte per folded byte (tone mark and vowel modifier; 0 for none), whether
 * the text came precomposed (NFC) or decomposed (NFD).
 *
 * Two words match when their folded forms are equal and either one carries
 * no diacritics or both carry the same: "khieu nai" and "KHIẾU NẠI" match
 * "khiếu nại", but "gặp" (to meet) does not match "gấp" (urgent) — a writer
 * who types the marks means them; one who omits them may mean any.
 */
#ifndef CAREBUS_ROUTER_FOLD_H
#define CAREBUS_ROUTER_FOLD_H

#include <stdbool.h>
#include <stddef.h>

/* Text beyond this many bytes is not read (the start of a message says
 * what it is about; the bound keeps the cost of a huge email fixed). */
#define FOLD_MAX_BYTES 16384

struct fold_word {
    size_t off, len; /* in folded and marks */
    bool marked;     /* carries a diacritic */
};

typedef struct fold_text {
    char *folded;         /* words' folded bytes, back to back */
    unsigned char *marks; /* one signature byte per folded byte */
    struct fold_word *words;
    size_t nwords, len;
} fold_text;

/* Folds the first FOLD_MAX_BYTES of s (UTF-8; invalid bytes separate
 * words). s may be NULL. 0, or -1 when out of memory (t then empty). Free
 * with fold_release. */
int fold_init(fold_text *t, const char *s);
/* Appends more text as further words (a subject after a body). 0 or -1. */
int fold_append(fold_text *t, const char *s);
void fold_release(fold_text *t);

/* True when phrase's words occur in text, consecutively. An empty phrase
 * matches nothing. */
bool fold_contains(const fold_text *text, const fold_text *phrase);

/* The folded words joined by single spaces, into out (size n). */
void fold_string(const fold_text *t, char *out, size_t n);

#endif
