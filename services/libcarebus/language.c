/* language.c — which language a customer writes in, and which one a
 * browser asks for.
 *
 * The heuristic (language_guess), on the customer's own words (a survey
 * reads the last inbound messages of the ticket, with their subjects; an
 * acknowledgement the contact it answers):
 *
 *   1. Any letter that Vietnamese writes and English does not (ă â đ ê ô ơ
 *      ư, a tone mark, or any other accented Latin letter): Vietnamese.
 *   2. Otherwise count words: common English words ("my", "order",
 *      "please", "hello", ...) against common Vietnamese words written
 *      without diacritics ("toi", "khong", "duoc", "don", "hang", ...).
 *      English when it has at least one such word and more than Vietnamese.
 *   3. Anything else (no text, numbers only, a tie): Vietnamese, the care
 *      department's language.
 *
 * Words that are common in both once the diacritics are gone ("can" = cần,
 * "do", "to", "in", "me", "an") count for neither. Deliberately simple: it
 * only has to pick between the two languages the department writes in.
 */
#include "language.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

static const char *const english_words[] = {
    "hello", "hi",       "hey",      "please",  "thanks", "thank",    "my",      "is",
    "are",   "was",      "were",     "you",     "your",   "order",    "not",     "cannot",
    "help",  "with",     "have",     "has",     "this",   "that",     "what",    "how",
    "why",   "when",     "where",    "need",    "want",   "problem",  "account", "refund",
    "issue", "still",    "and",      "of",      "for",    "it",       "get",     "got",
    "would", "could",    "will",     "from",    "about",  "any",      "there",   "we",
    "our",   "received", "delivery", "payment", "wrong",  "the",      "broken",  "late",
    "yet",   "been",     "ordered",  "product", "return", "warranty", "invoice", "dear",
};

static const char *const vietnamese_words[] = {
    "toi", "ban",  "khong", "duoc", "cua", "don",  "hang", "va",   "la",    "co",
    "cho", "minh", "em",    "anh",  "chi", "giup", "voi",  "roi",  "nhe",   "oi",
    "nay", "gi",   "sao",   "khi",  "bao", "hanh", "loi",  "bi",   "da",    "dang",
    "se",  "ho",   "tro",   "xin",  "cam", "on",   "chua", "nhan", "tien",  "doi",
    "tra", "mua",  "giao",  "ak",   "nha", "vay",  "thi",  "mot",  "nhanh", "nhung",
};

const char *language_code(language_id l)
{
    return l == LANGUAGE_EN ? "en" : "vi";
}

int language_parse(const char *s, language_id *out)
{
    if (!s)
        return -1;
    size_t n = strcspn(s, "-_");
    if (n != 2 || (s[n] && !isalnum((unsigned char)s[n + 1])))
        return -1;
    if (strncasecmp(s, "vi", 2) == 0)
        *out = LANGUAGE_VI;
    else if (strncasecmp(s, "en", 2) == 0)
        *out = LANGUAGE_EN;
    else
        return -1;
    return 0;
}

/* Letters Vietnamese writes and English does not: accented Latin-1 and
 * Latin Extended-A/B letters (ă đ ơ ư among them), combining tone marks
 * (decomposed text) and the Vietnamese block of Latin Extended Additional. */
static bool vietnamese_letter(uint32_t cp)
{
    return (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ||
           (cp >= 0x300 && cp <= 0x323) || (cp >= 0x1EA0 && cp <= 0x1EF9);
}

static bool in_list(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && memcmp(list[i], w, n) == 0)
            return true;
    return false;
}

language_id language_guess(const char *text)
{
    if (!text)
        return LANGUAGE_VI;
    const char *p = text, *end = text + strlen(text);
    int en = 0, vi = 0;
    char word[16];
    size_t wl = 0;
    bool long_word = false;
    for (;;) {
        /* An ill-formed byte is taken alone, as U+FFFD (a separator). */
        uint32_t cp = 0;
        size_t step = 0;
        if (p < end && !(step = utf8_decode(p, (size_t)(end - p), &cp)))
            step = 1;
        if (cp && vietnamese_letter(cp))
            return LANGUAGE_VI;
        if (cp && cp < 0x80 && isalpha((int)cp)) {
            if (wl < sizeof word)
                word[wl++] = (char)tolower((int)cp);
            else
                long_word = true;
        } else {
            if (wl && !long_word) {
                en += in_list(word, wl, english_words,
                              sizeof english_words / sizeof english_words[0]);
                vi += in_list(word, wl, vietnamese_words,
                              sizeof vietnamese_words / sizeof vietnamese_words[0]);
            }
            wl = 0;
            long_word = false;
        }
        if (!step)
            break;
        p += step;
    }
    return en >= 1 && en > vi ? LANGUAGE_EN : LANGUAGE_VI;
}

int language_accept(const char *header, language_id *out)
{
    if (!header)
        return 0;
    double best_q = 0;
    int found = 0;
    const char *p = header;
    while (*p) {
        size_t len = strcspn(p, ",");
        /* One entry: "tag[;q=x]" with optional blanks. */
        const char *e = p;
        while (e < p + len && (*e == ' ' || *e == '\t'))
            e++;
        size_t tl = 0;
        while (e + tl < p + len && e[tl] != ';' && e[tl] != ' ' && e[tl] != '\t')
            tl++;
        double q = 1.0;
        const char *semi = memchr(e, ';', (size_t)(p + len - e));
        if (semi) {
            const char *qs = semi + 1;
            while (qs < p + len && (*qs == ' ' || *qs == '\t'))
                qs++;
            if (qs + 2 <= p + len && (qs[0] == 'q' || qs[0] == 'Q') && qs[1] == '=') {
                char num[8] = {0};
                size_t nl = (size_t)(p + len - (qs + 2));
                memcpy(num, qs + 2, nl < sizeof num - 1 ? nl : sizeof num - 1);
                q = strtod(num, NULL);
            }
        }
        language_id l;
        char tag[16] = {0};
        if (tl > 0 && tl < sizeof tag) {
            memcpy(tag, e, tl);
            if (language_parse(tag, &l) == 0 && q > 0 && q > best_q) {
                best_q = q;
                *out = l;
                found = 1;
            }
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return found;
}
