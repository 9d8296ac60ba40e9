/* ack.c — see ack.h. The document:
 *
 *   {"enabled": ["zalo", "email"],
 *    "templates": {
 *      "default": {"vi": {"business_hours": "...", "after_hours": "...",
 *                         "subject": "...", "customer_name": "anh/chị"},
 *                  "en": {...}},
 *      "sms": {"vi": {"business_hours": "..."}}}}
 *
 * "default" needs business_hours and after_hours in both languages; a
 * channel's entry overrides any of its texts. Unknown members are refused
 * where they would be a typo of a known one (templates, languages, texts).
 */
#include "ack.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placeholder.h"

/* Channel enum values, with 0 (unspecified) standing for "default". */
#define ACK_CHANNELS 64

static const char *const text_names[ACK_NTEXTS] = {
    [ACK_BUSINESS_HOURS] = "business_hours",
    [ACK_AFTER_HOURS] = "after_hours",
    [ACK_SUBJECT] = "subject",
    [ACK_NO_NAME] = "customer_name",
};

static const char *const placeholders[] = {"customer_name", "ticket_number"};

struct ack {
    bool enabled[ACK_CHANNELS];
    char *texts[ACK_CHANNELS][2][ACK_NTEXTS]; /* [channel][language][text], NULL: not given */
    calendar *cal;                            /* NULL: always business hours */
};

static int ack_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ack_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Every {word} of t is a placeholder we fill. */
static int check_placeholders(const char *t, const char *where, char *err, size_t errlen)
{
    char bad[PLACEHOLDER_NAME_MAX + 1];
    if (placeholder_check(t, placeholders, sizeof placeholders / sizeof placeholders[0], bad) == 0)
        return 0;
    return ack_fail(err, errlen,
                    "%s: unknown placeholder {%s} (known: {customer_name}, {ticket_number})", where,
                    bad);
}

static int channel_slot(const char *name, int *out)
{
    if (strcmp(name, "default") == 0) {
        *out = 0;
        return 0;
    }
    Carebus__V1__Channel ch;
    if (event_channel_parse(name, &ch) != 0 || (int)ch <= 0 || (int)ch >= ACK_CHANNELS)
        return -1;
    *out = (int)ch;
    return 0;
}

static int read_texts(ack *a, int slot, const char *cname, json_t *langs, char *err, size_t errlen)
{
    if (!json_is_object(langs))
        return ack_fail(err, errlen, "templates.%s must be an object of languages", cname);
    const char *lname;
    json_t *texts;
    json_object_foreach(langs, lname, texts)
    {
        language_id l;
        if (strlen(lname) != 2 || language_parse(lname, &l) != 0)
            return ack_fail(err, errlen, "templates.%s: unknown language \"%s\" (vi or en)", cname,
                            lname);
        if (!json_is_object(texts))
            return ack_fail(err, errlen, "templates.%s.%s must be an object", cname, lname);
        const char *tname;
        json_t *v;
        json_object_foreach(texts, tname, v)
        {
            int k = 0;
            while (k < ACK_NTEXTS && strcmp(text_names[k], tname) != 0)
                k++;
            char where[128];
            snprintf(where, sizeof where, "templates.%s.%s.%s", cname, lname, tname);
            if (k == ACK_NTEXTS)
                return ack_fail(err, errlen,
                                "%s: unknown text (business_hours, after_hours, subject, "
                                "customer_name)",
                                where);
            if (!json_is_string(v))
                return ack_fail(err, errlen, "%s must be a string", where);
            if (check_placeholders(json_string_value(v), where, err, errlen) != 0)
                return -1;
            free(a->texts[slot][l][k]);
            if (!(a->texts[slot][l][k] = strdup(json_string_value(v))))
                return ack_fail(err, errlen, "out of memory");
        }
    }
    return 0;
}

static int read_document(ack *a, json_t *root, char *err, size_t errlen)
{
    if (!json_is_object(root))
        return ack_fail(err, errlen, "the document must be a JSON object");
    json_t *enabled = json_object_get(root, "enabled");
    if (enabled && !json_is_array(enabled))
        return ack_fail(err, errlen, "\"enabled\" must be an array of channels");
    size_t i;
    json_t *v;
    json_array_foreach(enabled, i, v)
    {
        int slot;
        if (!json_is_string(v) || channel_slot(json_string_value(v), &slot) != 0 || slot == 0)
            return ack_fail(err, errlen, "enabled[%zu]: not a channel", i);
        a->enabled[slot] = true;
    }
    json_t *templates = json_object_get(root, "templates");
    if (!json_is_object(templates))
        return ack_fail(err, errlen, "\"templates\" must be an object");
    const char *cname;
    json_t *langs;
    json_object_foreach(templates, cname, langs)
    {
        int slot;
        if (channel_slot(cname, &slot) != 0)
            return ack_fail(err, errlen, "templates: \"%s\" is neither \"default\" nor a channel",
                            cname);
        if (read_texts(a, slot, cname, langs, err, errlen) != 0)
            return -1;
    }
    for (int l = 0; l < 2; l++)
        for (int k = ACK_BUSINESS_HOURS; k <= ACK_AFTER_HOURS; k++)
            if (!a->texts[0][l][k])
                return ack_fail(err, errlen, "templates.default.%s.%s is required",
                                language_code((language_id)l), text_names[k]);
    return 0;
}

ack *ack_parse(const char *json, size_t len, const char *origin, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        ack_fail(err, errlen, "%s: line %d: %s", origin, je.line, je.text);
        return NULL;
    }
    ack *a = calloc(1, sizeof *a);
    char why[400] = "out of memory";
    if (!a || read_document(a, root, why, sizeof why) != 0) {
        ack_fail(err, errlen, "%s: %s", origin, why);
        ack_destroy(&a);
    }
    json_decref(root);
    return a;
}

ack *ack_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ack_fail(err, errlen, "%s: could not open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(ACK_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, ACK_MAX_BYTES + 1, f) : 0;
    bool bad = !text || ferror(f);
    fclose(f);
    ack *a = NULL;
    if (bad)
        ack_fail(err, errlen, "%s: could not read the file", path);
    else if (n > ACK_MAX_BYTES)
        ack_fail(err, errlen, "%s: larger than %u bytes", path, ACK_MAX_BYTES);
    else
        a = ack_parse(text, n, path, err, errlen);
    free(text);
    return a;
}

void ack_destroy(ack **pa)
{
    ack *a = *pa;
    if (!a)
        return;
    for (int c = 0; c < ACK_CHANNELS; c++)
        for (int l = 0; l < 2; l++)
            for (int k = 0; k < ACK_NTEXTS; k++)
                free(a->texts[c][l][k]);
    calendar_destroy(&a->cal);
    free(a);
    *pa = NULL;
}

bool ack_any(const ack *a)
{
    for (int c = 1; a && c < ACK_CHANNELS; c++)
        if (a->enabled[c])
            return true;
    return false;
}

bool ack_enabled(const ack *a, Carebus__V1__Channel channel)
{
    return a && (int)channel > 0 && (int)channel < ACK_CHANNELS && a->enabled[channel];
}

void ack_set_calendar(ack *a, calendar **cal)
{
    calendar_destroy(&a->cal);
    a->cal = *cal;
    *cal = NULL;
}

bool ack_business_hours(const ack *a, int64_t at_us)
{
    return !a->cal || calendar_is_open(a->cal, at_us);
}

static const char *text_of(const ack *a, Carebus__V1__Channel channel, language_id lang,
                           ack_text which)
{
    int c = (int)channel > 0 && (int)channel < ACK_CHANNELS ? (int)channel : 0;
    const char *t = a->texts[c][lang][which];
    return t ? t : a->texts[0][lang][which] ? a->texts[0][lang][which] : "";
}

static bool blank(const char *s)
{
    return !s || !s[strspn(s, " \t\r\n")];
}

void ack_render(const ack *a, Carebus__V1__Channel channel, language_id lang, ack_text which,
                const char *customer_name, int64_t ticket_number, buf *out)
{
    if (lang != LANGUAGE_EN)
        lang = LANGUAGE_VI;
    const char *t = text_of(a, channel, lang, which);
    const char *name =
        blank(customer_name) ? text_of(a, channel, lang, ACK_NO_NAME) : customer_name;
    char number[24];
    snprintf(number, sizeof number, "%lld", (long long)ticket_number);
    const struct placeholder vals[] = {{"customer_name", name}, {"ticket_number", number}};
    placeholder_render(t, vals, sizeof vals / sizeof vals[0], out);
}
