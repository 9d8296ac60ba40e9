/* rules.h — the router's configuration: teams, classification rules,
 * category -> team routes and the priority scheme.
 *
 * One JSON file (CAREBUS_ROUTER_CONFIG, default deploy/config/router.json;
 * the same defaults are built in for when no file is there). It is read at
 * start and on SIGHUP; a file that does not validate is refused with a
 * message naming the place and the problem, and the rules in force stay.
 *
 * Classification: the rules are tried in the file's order; the first with
 * a phrase found in the contact's text (fold.h: case and Vietnamese
 * diacritics do not matter) gives the category; none gives "other" by the
 * rule "default". Priority: base + segment + category + urgent words +
 * repeated contacts, clamped to low..urgent, and never below an SLA
 * escalation; each non-zero term is a recorded reason.
 */
#ifndef CAREBUS_ROUTER_RULES_H
#define CAREBUS_ROUTER_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "fold.h"

/* Room for every Category and Segment value (test_rules checks the schema
 * fits), so that a value added to the proto needs no edit here. */
#define RULES_CATEGORIES 32
#define RULES_SEGMENTS 16
#define RULES_NAME_MAX 64 /* team and rule names */
#define RULES_REASONS_MAX 6
#define RULES_REASON_LEN 96

struct rules_phrase {
    char *text; /* as written in the file */
    fold_text folded;
};

struct rules_rule {
    char *name;
    Carebus__V1__Category category;
    struct rules_phrase *phrases;
    size_t nphrases;
};

typedef struct rules {
    char *origin; /* the file's path, or "built-in" */
    char **teams;
    size_t nteams;
    const char *default_team;                    /* one of teams */
    const char *category_team[RULES_CATEGORIES]; /* one of teams each */
    struct rules_rule *rules;
    size_t nrules;
    int base; /* priority rank, 1 (low) .. 4 (urgent) */
    int segment_boost[RULES_SEGMENTS];
    int category_boost[RULES_CATEGORIES];
    struct rules_phrase *urgent;
    size_t nurgent;
    int urgent_boost;
    int repeat_threshold; /* contacts on one ticket; 0: never */
    int repeat_boost;
} rules;

/* Parses and validates a configuration. NULL on failure, with a message in
 * err ("rules[2].category: unknown category \"complain\" (expected ...)").
 * origin names the source in r->origin. */
rules *rules_parse(const char *json, size_t len, const char *origin, char *err, size_t errlen);
/* Reads path. NULL with err on failure (unreadable, invalid). */
rules *rules_load(const char *path, char *err, size_t errlen);
/* The built-in defaults (the text of deploy/config/router.json). */
extern const char rules_default_json[];
rules *rules_default(char *err, size_t errlen);
void rules_destroy(rules **pr);

bool rules_team_known(const rules *r, const char *team);
/* The team of a category (the default team for an unknown one). */
const char *rules_team(const rules *r, Carebus__V1__Category c);

struct rules_match {
    Carebus__V1__Category category;
    const char *rule;   /* borrowed from r: "default" when none matched */
    const char *phrase; /* the phrase as written, NULL when none matched */
};
/* The category of a text (already folded). */
void rules_classify(const rules *r, const fold_text *text, struct rules_match *out);
/* The first urgent word of the text (as written in the file), or NULL. */
const char *rules_urgent(const rules *r, const fold_text *text);

struct rules_priority_in {
    Carebus__V1__Segment segment;
    Carebus__V1__Category category;
    const char *urgent_word; /* NULL: none seen */
    int contacts;            /* the customer's contacts on the ticket */
    int escalated;           /* rank an SLA escalation set, 0 if none */
};
struct rules_priority {
    int rank; /* 1 low, 2 normal, 3 high, 4 urgent */
    char reasons[RULES_REASONS_MAX][RULES_REASON_LEN];
    size_t nreasons;
};
void rules_priority(const rules *r, const struct rules_priority_in *in, struct rules_priority *out);

/* "low" .. "urgent" for ranks 1..4 (Carebus__V1__Priority has the same
 * numbers). */
const char *rules_priority_name(int rank);

#endif
