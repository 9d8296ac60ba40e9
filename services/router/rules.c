/* rules.c — reading and validating the router's JSON configuration, and
 * the two pure functions it configures: classification and priority.
 *
 * Validation is strict: an unknown key is an error (a typo such as
 * "phrase" for "phrases" must not silently disable a rule), every team a
 * route names must be declared, every category and segment spelt as the
 * API spells them, and every phrase must fold to at least one word. The
 * message names the place: `rules[3].phrases[0]: empty phrase`.
 */
#include "rules.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULES_MAX_BYTES (1u << 20)

/* A priority rank is a Priority value, 1 (low) to the highest (urgent):
 * the schema numbers them in order, without gaps. */
static int rank_top(void)
{
    return (int)vocab_count(&carebus__v1__priority__descriptor);
}

const char *rules_priority_name(int rank)
{
    return rank >= 1 && rank <= rank_top() ? event_priority_name((Carebus__V1__Priority)rank)
                                           : "normal";
}

static int rules_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rules_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void phrase_release(struct rules_phrase *p)
{
    free(p->text);
    fold_release(&p->folded);
}

void rules_destroy(rules **pr)
{
    rules *r = *pr;
    if (!r)
        return;
    free(r->origin);
    for (size_t i = 0; i < r->nteams; i++)
        free(r->teams[i]);
    free(r->teams);
    for (size_t i = 0; i < r->nrules; i++) {
        for (size_t k = 0; k < r->rules[i].nphrases; k++)
            phrase_release(&r->rules[i].phrases[k]);
        free(r->rules[i].phrases);
        free(r->rules[i].name);
    }
    free(r->rules);
    for (size_t i = 0; i < r->nurgent; i++)
        phrase_release(&r->urgent[i]);
    free(r->urgent);
    free(r);
    *pr = NULL;
}

/* Fails unless every key of obj is one of the NULL-terminated allowed. */
static int check_keys(const json_t *obj, const char *path, const char *const *allowed, char *err,
                      size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i]) {
            char list[256] = "";
            for (size_t k = 0; allowed[k]; k++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", k ? ", " : "",
                         allowed[k]);
            return rules_fail(err, errlen, "%s: unknown key \"%s\" (expected %s)", path, key, list);
        }
    }
    return 0;
}

/* A name: 1..RULES_NAME_MAX-1 bytes of letters, digits, '-', '_', '.'. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= RULES_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static const char *team_find(const rules *r, const char *team)
{
    for (size_t i = 0; i < r->nteams; i++)
        if (strcmp(r->teams[i], team) == 0)
            return r->teams[i];
    return NULL;
}

bool rules_team_known(const rules *r, const char *team)
{
    return team && team_find(r, team) != NULL;
}

const char *rules_team(const rules *r, Carebus__V1__Category c)
{
    if ((int)c > 0 && (int)c < RULES_CATEGORIES && r->category_team[c])
        return r->category_team[c];
    return r->default_team;
}

static const char *category_list(void)
{
    return vocab_list(&carebus__v1__category__descriptor);
}

static int parse_team_ref(rules *r, const json_t *v, const char *path, const char **out, char *err,
                          size_t errlen)
{
    if (!json_is_string(v))
        return rules_fail(err, errlen, "%s: must be a team name (a string)", path);
    const char *t = team_find(r, json_string_value(v));
    if (!t)
        return rules_fail(err, errlen, "%s: unknown team \"%s\" (not in \"teams\")", path,
                          json_string_value(v));
    *out = t;
    return 0;
}

static int parse_teams(rules *r, const json_t *root, char *err, size_t errlen)
{
    const json_t *teams = json_object_get(root, "teams");
    if (!json_is_array(teams) || json_array_size(teams) == 0)
        return rules_fail(err, errlen, "\"teams\": must be a non-empty array of team names");
    r->teams = calloc(json_array_size(teams), sizeof *r->teams);
    if (!r->teams)
        return rules_fail(err, errlen, "out of memory");
    size_t i;
    const json_t *v;
    json_array_foreach(teams, i, v)
    {
        if (!json_is_string(v) || !name_ok(json_string_value(v)))
            return rules_fail(err, errlen,
                              "teams[%zu]: must be a name of 1 to %d letters, digits, '-', "
                              "'_' or '.'",
                              i, RULES_NAME_MAX - 1);
        if (team_find(r, json_string_value(v)))
            return rules_fail(err, errlen, "teams[%zu]: \"%s\" is declared twice", i,
                              json_string_value(v));
        if (!(r->teams[r->nteams] = strdup(json_string_value(v))))
            return rules_fail(err, errlen, "out of memory");
        r->nteams++;
    }
    const json_t *def = json_object_get(root, "default_team");
    if (!def)
        return rules_fail(err, errlen, "\"default_team\": missing");
    return parse_team_ref(r, def, "\"default_team\"", &r->default_team, err, errlen);
}

static int parse_category_teams(rules *r, const json_t *root, char *err, size_t errlen)
{
    const json_t *ct = json_object_get(root, "category_teams");
    if (!ct)
        return 0; /* every category to the default team */
    if (!json_is_object(ct))
        return rules_fail(err, errlen, "\"category_teams\": must be an object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ct, key, v)
    {
        Carebus__V1__Category c;
        char path[128];
        snprintf(path, sizeof path, "category_teams.%.64s", key);
        if (event_category_parse(key, &c) != 0 || (int)c <= 0 || (int)c >= RULES_CATEGORIES)
            return rules_fail(err, errlen, "%s: unknown category \"%s\" (expected %s)", path, key,
                              category_list());
        if (parse_team_ref(r, v, path, &r->category_team[c], err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Folds a phrase from the file; it must give at least one word. */
static int parse_phrase(const json_t *v, const char *path, struct rules_phrase *p, char *err,
                        size_t errlen)
{
    if (!json_is_string(v))
        return rules_fail(err, errlen, "%s: must be a string", path);
    const char *s = json_string_value(v);
    if (strlen(s) > 256)
        return rules_fail(err, errlen, "%s: longer than 256 bytes", path);
    if (!(p->text = strdup(s)) || fold_init(&p->folded, s) != 0)
        return rules_fail(err, errlen, "out of memory");
    if (p->folded.nwords == 0)
        return rules_fail(err, errlen, "%s: empty phrase (\"%s\" has no letters or digits)", path,
                          s);
    return 0;
}

static int parse_phrases(const json_t *arr, const char *path, struct rules_phrase **out, size_t *n,
                         char *err, size_t errlen)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return rules_fail(err, errlen, "%s: must be a non-empty array of strings", path);
    *out = calloc(json_array_size(arr), sizeof **out);
    if (!*out)
        return rules_fail(err, errlen, "out of memory");
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        char p[128];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        (*n)++;
        if (parse_phrase(v, p, &(*out)[i], err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int parse_rules(rules *r, const json_t *root, char *err, size_t errlen)
{
    static const char *const keys[] = {"name", "category", "phrases", "lang", "comment", NULL};
    const json_t *arr = json_object_get(root, "rules");
    if (!arr)
        return 0; /* everything "other" */
    if (!json_is_array(arr))
        return rules_fail(err, errlen, "\"rules\": must be an array");
    r->rules = calloc(json_array_size(arr) + 1, sizeof *r->rules);
    if (!r->rules)
        return rules_fail(err, errlen, "out of memory");
    size_t i;
    const json_t *o;
    json_array_foreach(arr, i, o)
    {
        char path[64];
        snprintf(path, sizeof path, "rules[%zu]", i);
        if (!json_is_object(o))
            return rules_fail(err, errlen, "%s: must be an object", path);
        if (check_keys(o, path, keys, err, errlen) != 0)
            return -1;
        struct rules_rule *rule = &r->rules[r->nrules++];
        const json_t *name = json_object_get(o, "name");
        if (!json_is_string(name) || !name_ok(json_string_value(name)))
            return rules_fail(err, errlen,
                              "%s.name: must be a name of 1 to %d letters, digits, '-', '_' or "
                              "'.'",
                              path, RULES_NAME_MAX - 1);
        for (size_t k = 0; k + 1 < r->nrules; k++)
            if (strcmp(r->rules[k].name, json_string_value(name)) == 0)
                return rules_fail(err, errlen, "%s.name: \"%s\" is used by rules[%zu] too", path,
                                  json_string_value(name), k);
        if (!(rule->name = strdup(json_string_value(name))))
            return rules_fail(err, errlen, "out of memory");
        const json_t *cat = json_object_get(o, "category");
        if (!json_is_string(cat) ||
            event_category_parse(json_string_value(cat), &rule->category) != 0 ||
            (int)rule->category <= 0)
            return rules_fail(err, errlen, "%s.category: unknown category \"%s\" (expected %s)",
                              path, json_is_string(cat) ? json_string_value(cat) : "",
                              category_list());
        const json_t *lang = json_object_get(o, "lang");
        if (lang && !json_is_string(lang))
            return rules_fail(err, errlen, "%s.lang: must be a string", path);
        char ppath[80];
        snprintf(ppath, sizeof ppath, "%s.phrases", path);
        if (parse_phrases(json_object_get(o, "phrases"), ppath, &rule->phrases, &rule->nphrases,
                          err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* An integer boost in [-3, 3]. */
static int parse_boost(const json_t *v, const char *path, int *out, char *err, size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < -3 || json_integer_value(v) > 3)
        return rules_fail(err, errlen, "%s: must be an integer from -3 to 3", path);
    *out = (int)json_integer_value(v);
    return 0;
}

static int parse_rank(const json_t *v, const char *path, int *out, char *err, size_t errlen)
{
    Carebus__V1__Priority p;
    if (json_is_string(v) && event_priority_parse(json_string_value(v), &p) == 0) {
        *out = (int)p;
        return 0;
    }
    return rules_fail(err, errlen, "%s: must be one of %s", path,
                      vocab_list(&carebus__v1__priority__descriptor));
}

static int parse_priority(rules *r, const json_t *root, char *err, size_t errlen)
{
    static const char *const keys[] = {
        "base", "segments", "categories", "urgent_words", "repeated_contacts", "comment", NULL};
    r->base = 2;
    const json_t *p = json_object_get(root, "priority");
    if (!p)
        return 0;
    if (!json_is_object(p))
        return rules_fail(err, errlen, "\"priority\": must be an object");
    if (check_keys(p, "priority", keys, err, errlen) != 0)
        return -1;
    const json_t *v;
    if ((v = json_object_get(p, "base")) &&
        parse_rank(v, "priority.base", &r->base, err, errlen) != 0)
        return -1;
    const char *key;
    json_t *b;
    if ((v = json_object_get(p, "segments"))) {
        if (!json_is_object(v))
            return rules_fail(err, errlen, "priority.segments: must be an object");
        json_object_foreach((json_t *)v, key, b)
        {
            Carebus__V1__Segment s;
            char path[96];
            snprintf(path, sizeof path, "priority.segments.%.32s", key);
            if (event_segment_parse(key, &s) != 0 || (int)s <= 0 || (int)s >= RULES_SEGMENTS)
                return rules_fail(err, errlen, "%s: unknown segment \"%s\" (expected %s)", path,
                                  key, vocab_list(&carebus__v1__segment__descriptor));
            if (parse_boost(b, path, &r->segment_boost[s], err, errlen) != 0)
                return -1;
        }
    }
    if ((v = json_object_get(p, "categories"))) {
        if (!json_is_object(v))
            return rules_fail(err, errlen, "priority.categories: must be an object");
        json_object_foreach((json_t *)v, key, b)
        {
            Carebus__V1__Category c;
            char path[96];
            snprintf(path, sizeof path, "priority.categories.%.32s", key);
            if (event_category_parse(key, &c) != 0 || (int)c <= 0 || (int)c >= RULES_CATEGORIES)
                return rules_fail(err, errlen, "%s: unknown category \"%s\" (expected %s)", path,
                                  key, category_list());
            if (parse_boost(b, path, &r->category_boost[c], err, errlen) != 0)
                return -1;
        }
    }
    if ((v = json_object_get(p, "urgent_words"))) {
        static const char *const ukeys[] = {"boost", "words", NULL};
        if (!json_is_object(v))
            return rules_fail(err, errlen, "priority.urgent_words: must be an object");
        if (check_keys(v, "priority.urgent_words", ukeys, err, errlen) != 0 ||
            parse_boost(json_object_get(v, "boost"), "priority.urgent_words.boost",
                        &r->urgent_boost, err, errlen) != 0 ||
            parse_phrases(json_object_get(v, "words"), "priority.urgent_words.words", &r->urgent,
                          &r->nurgent, err, errlen) != 0)
            return -1;
    }
    if ((v = json_object_get(p, "repeated_contacts"))) {
        static const char *const rkeys[] = {"threshold", "boost", NULL};
        if (!json_is_object(v))
            return rules_fail(err, errlen, "priority.repeated_contacts: must be an object");
        if (check_keys(v, "priority.repeated_contacts", rkeys, err, errlen) != 0)
            return -1;
        const json_t *t = json_object_get(v, "threshold");
        if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > 1000)
            return rules_fail(err, errlen,
                              "priority.repeated_contacts.threshold: must be an integer from 0 "
                              "(never) to 1000");
        r->repeat_threshold = (int)json_integer_value(t);
        if (parse_boost(json_object_get(v, "boost"), "priority.repeated_contacts.boost",
                        &r->repeat_boost, err, errlen) != 0)
            return -1;
    }
    return 0;
}

rules *rules_parse(const char *text, size_t len, const char *origin, char *err, size_t errlen)
{
    static const char *const keys[] = {"version", "teams",    "default_team", "category_teams",
                                       "rules",   "priority", "comment",      NULL};
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    rules *r = NULL;
    if (!root) {
        rules_fail(err, errlen, "not valid JSON: %s (line %d, column %d)", je.text, je.line,
                   je.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        rules_fail(err, errlen, "the top level must be an object");
        goto fail;
    }
    if (check_keys(root, "the top level", keys, err, errlen) != 0)
        goto fail;
    const json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 1) {
        rules_fail(err, errlen, "\"version\": must be 1");
        goto fail;
    }
    if (!(r = calloc(1, sizeof *r)) || !(r->origin = strdup(origin))) {
        rules_fail(err, errlen, "out of memory");
        goto fail;
    }
    if (parse_teams(r, root, err, errlen) != 0 || parse_category_teams(r, root, err, errlen) != 0 ||
        parse_rules(r, root, err, errlen) != 0 || parse_priority(r, root, err, errlen) != 0)
        goto fail;
    json_decref(root);
    return r;
fail:
    json_decref(root);
    rules_destroy(&r);
    return NULL;
}

rules *rules_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rules_fail(err, errlen, "could not open: %s", strerror(errno));
        return NULL;
    }
    char *text = malloc(RULES_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, RULES_MAX_BYTES + 1, f) : 0;
    bool bad = !text || ferror(f);
    fclose(f);
    rules *r = NULL;
    if (bad)
        rules_fail(err, errlen, "could not read the file");
    else if (n > RULES_MAX_BYTES)
        rules_fail(err, errlen, "larger than %u bytes", RULES_MAX_BYTES);
    else
        r = rules_parse(text, n, path, err, errlen);
    free(text);
    return r;
}

rules *rules_default(char *err, size_t errlen)
{
    return rules_parse(rules_default_json, strlen(rules_default_json), "built-in", err, errlen);
}

void rules_classify(const rules *r, const fold_text *text, struct rules_match *out)
{
    for (size_t i = 0; i < r->nrules; i++)
        for (size_t k = 0; k < r->rules[i].nphrases; k++)
            if (fold_contains(text, &r->rules[i].phrases[k].folded)) {
                out->category = r->rules[i].category;
                out->rule = r->rules[i].name;
                out->phrase = r->rules[i].phrases[k].text;
                return;
            }
    out->category = CAREBUS__V1__CATEGORY__CATEGORY_OTHER;
    out->rule = "default";
    out->phrase = NULL;
}

const char *rules_urgent(const rules *r, const fold_text *text)
{
    for (size_t i = 0; i < r->nurgent; i++)
        if (fold_contains(text, &r->urgent[i].folded))
            return r->urgent[i].text;
    return NULL;
}

static void add_reason(struct rules_priority *out, const char *fmt, const char *what, int delta)
{
    if (out->nreasons == RULES_REASONS_MAX)
        return;
    char *s = out->reasons[out->nreasons++];
    int n = snprintf(s, RULES_REASON_LEN, fmt, what);
    if (n >= 0 && n < RULES_REASON_LEN && delta)
        snprintf(s + n, RULES_REASON_LEN - (size_t)n, " %+d", delta);
}

void rules_priority(const rules *r, const struct rules_priority_in *in, struct rules_priority *out)
{
    out->nreasons = 0;
    int rank = r->base, d;
    if ((int)in->segment > 0 && (int)in->segment < RULES_SEGMENTS &&
        (d = r->segment_boost[in->segment]) != 0) {
        rank += d;
        add_reason(out, "segment:%s", event_segment_name(in->segment), d);
    }
    if ((int)in->category > 0 && (int)in->category < RULES_CATEGORIES &&
        (d = r->category_boost[in->category]) != 0) {
        rank += d;
        add_reason(out, "category:%s", event_category_name(in->category), d);
    }
    if (in->urgent_word && r->urgent_boost) {
        rank += r->urgent_boost;
        add_reason(out, "urgent_word:%s", in->urgent_word, r->urgent_boost);
    }
    if (r->repeat_threshold > 0 && in->contacts >= r->repeat_threshold && r->repeat_boost) {
        char n[16];
        snprintf(n, sizeof n, "%d", in->contacts);
        rank += r->repeat_boost;
        add_reason(out, "repeated_contacts:%s", n, r->repeat_boost);
    }
    rank = rank < 1 ? 1 : rank > rank_top() ? rank_top() : rank;
    if (in->escalated > rank) {
        rank = in->escalated;
        add_reason(out, "sla_escalation:%s", rules_priority_name(in->escalated), 0);
    }
    out->rank = rank;
}
