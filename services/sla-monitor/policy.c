/* policy.c — the SLA configuration's journey from files to memory.
 *
 * Files are only read and passed through: jansson checks that each is JSON
 * (and says where it is not), and all the validation lives in one place,
 * sla.load_config, which the seed migration uses too.
 */
#include "policy.h"

#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const config_files[] = {"sla-policies.json", CALENDAR_CONFIG_CALENDARS,
                                           CALENDAR_CONFIG_HOLIDAYS};

/* Paths are built from a directory of up to PATH_MAX plus a name. */
#define CONFIG_PATH_MAX (PATH_MAX + 64)

/* The file's JSON, re-serialised compactly (malloc'd), or NULL logged. */
static char *config_read(const char *dir, const char *name)
{
    char path[CONFIG_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        log_error("could not load SLA configuration %s: line %d column %d: %s", path, jerr.line,
                  jerr.column, jerr.text);
        return NULL;
    }
    char *text = json_is_object(doc) ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (!json_is_object(doc))
        log_error("could not load SLA configuration %s: expected a JSON object", path);
    json_decref(doc);
    return text;
}

int sla_config_store_files(db *d, const char *dir, bool *changed)
{
    char *docs[3] = {NULL, NULL, NULL};
    int rc = -1;
    for (int i = 0; i < 3; i++)
        if (!(docs[i] = config_read(dir, config_files[i])))
            goto out;
    const char *params[] = {docs[0], docs[1], docs[2], dir};
    PGresult *res = db_exec(
        d, "SELECT sla.load_config($1::jsonb, $2::jsonb, $3::jsonb, $4) AS changed", 4, params);
    if (!res) {
        log_error("the SLA configuration in %s was rejected (see the error above); the previous "
                  "one stays",
                  dir);
        goto out;
    }
    *changed = db_value(res, 0, "changed")[0] == 't';
    PQclear(res);
    rc = 0;
out:
    for (int i = 0; i < 3; i++)
        free(docs[i]);
    return rc;
}

const char *sla_target_name(Carebus__V1__SlaTarget t)
{
    const char *n = event_sla_target_name(t);
    return n[0] ? n : NULL;
}

int sla_target_parse(const char *s, Carebus__V1__SlaTarget *out)
{
    return event_sla_target_parse(s, out);
}

void sla_config_destroy(sla_config **pc)
{
    sla_config *c = *pc;
    if (!c)
        return;
    calendar_config_destroy(&c->cals);
    free(c->pols);
    free(c);
    *pc = NULL;
}

const calendar *sla_config_calendar(const sla_config *c, const char *id)
{
    return calendar_config_find(c->cals, id);
}

const struct sla_policy *sla_config_policy(const sla_config *c, Carebus__V1__Segment segment)
{
    const struct sla_policy *regular = NULL;
    for (size_t i = 0; i < c->npols; i++) {
        if (c->pols[i].segment == segment)
            return &c->pols[i];
        if (c->pols[i].segment == CAREBUS__V1__SEGMENT__SEGMENT_REGULAR)
            regular = &c->pols[i];
    }
    return regular;
}

const struct sla_policy *sla_config_policy_id(const sla_config *c, const char *id)
{
    for (size_t i = 0; id && i < c->npols; i++)
        if (strcmp(c->pols[i].id, id) == 0)
            return &c->pols[i];
    return NULL;
}

void sla_config_select(const sla_config *c, Carebus__V1__Segment segment, const char *team_policy,
                       const char *team_calendar, struct sla_policy *out)
{
    const struct sla_policy *p = sla_config_policy(c, segment);
    assert(p && "sla_config_load guarantees a regular policy");
    if (segment != CAREBUS__V1__SEGMENT__SEGMENT_REGULAR && p->segment == segment) {
        *out = *p; /* the customer's own promise */
        return;
    }
    const struct sla_policy *team = sla_config_policy_id(c, team_policy);
    *out = team ? *team : *p;
    const calendar *cal = team_calendar ? sla_config_calendar(c, team_calendar) : NULL;
    if (cal)
        out->cal = cal;
}

/* The calendars of the documents sla.load_config accepted. */
static int config_calendars(db *d, sla_config *c)
{
    PGresult *res =
        db_exec(d,
                "SELECT (SELECT document::text FROM sla.config WHERE name = 'calendars')"
                " AS calendars,"
                " (SELECT document::text FROM sla.config WHERE name = 'holidays') AS holidays",
                0, NULL);
    if (!res)
        return -1;
    char err[512];
    const char *cals = db_value(res, 0, "calendars"), *hols = db_value(res, 0, "holidays");
    if (!cals || !hols)
        snprintf(err, sizeof err, "sla.config has no calendars or holidays document");
    else
        c->cals = calendar_config_parse(cals, hols, err, sizeof err);
    PQclear(res);
    if (!c->cals) {
        log_error("the SLA calendars are unusable: %s", err);
        return -1;
    }
    return 0;
}

static int config_policies(db *d, sla_config *c)
{
    int rc = -1;
    PGresult *res = db_exec(
        d, "SELECT id, segment, calendar_id, warning_pct FROM sla.policies ORDER BY id", 0, NULL);
    if (!res)
        return -1;
    int n = PQntuples(res);
    c->pols = calloc((size_t)n + 1, sizeof *c->pols);
    if (!c->pols)
        goto out;
    for (int i = 0; i < n; i++) {
        struct sla_policy *p = &c->pols[c->npols];
        snprintf(p->id, sizeof p->id, "%s", db_value(res, i, "id"));
        p->cal = sla_config_calendar(c, db_value(res, i, "calendar_id"));
        p->warning_pct = atoi(db_value(res, i, "warning_pct"));
        if (event_segment_parse(db_value(res, i, "segment"), &p->segment) != 0 || !p->cal) {
            log_error("SLA policy \"%s\": unknown segment or calendar", p->id);
            goto out;
        }
        c->npols++;
    }
    PQclear(res);
    res = db_exec(d, "SELECT policy_id, priority, target, business_secs FROM sla.policy_targets", 0,
                  NULL);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        struct sla_policy *p = NULL;
        for (size_t k = 0; k < c->npols; k++)
            if (strcmp(c->pols[k].id, db_value(res, i, "policy_id")) == 0)
                p = &c->pols[k];
        Carebus__V1__Priority prio;
        Carebus__V1__SlaTarget t;
        if (!p || event_priority_parse(db_value(res, i, "priority"), &prio) != 0 ||
            sla_target_parse(db_value(res, i, "target"), &t) != 0) {
            log_error("SLA policy target of \"%s\" is unusable", db_value(res, i, "policy_id"));
            goto out;
        }
        p->secs[prio][t] = (int32_t)atol(db_value(res, i, "business_secs"));
    }
    if (!sla_config_policy(c, CAREBUS__V1__SEGMENT__SEGMENT_REGULAR) ||
        sla_config_policy(c, CAREBUS__V1__SEGMENT__SEGMENT_REGULAR)->segment !=
            CAREBUS__V1__SEGMENT__SEGMENT_REGULAR) {
        log_error("the SLA configuration has no policy for segment \"regular\"");
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

sla_config *sla_config_load(db *d)
{
    sla_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (config_calendars(d, c) != 0 || config_policies(d, c) != 0)
        sla_config_destroy(&c);
    return c;
}
