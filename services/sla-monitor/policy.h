/* policy.h — SLA policies and calendars: files -> PostgreSQL -> memory.
 *
 * The configuration lives in PostgreSQL (sla.config's documents and the
 * tables sla.policies, sla.calendars, ... made from them), seeded by
 * migration 0031 and replaced from the JSON files of the config directory
 * (sla-policies.json, sla-calendars.json, sla-holidays.json) by the SQL
 * function sla.load_config, which validates them and raises a clear error on
 * a bad file. The service then reads it into an sla_config: the calendars
 * built by libcarebus's calendar_config from the stored documents (as
 * analytics builds them from the files), and the policies from the tables,
 * indexed by segment; immutable until the next reload.
 *
 * Which policy holds a ticket (sla_config_select): its customer's segment's
 * own policy, when the segment has one (vip, wholesale: a promise made to
 * the customer, on that policy's calendar); otherwise its team's: the SLA
 * policy the team names (PATCH /v1/teams), else "regular", counted on the
 * calendar the team names, else that policy's. A team's setting naming
 * what the configuration no longer has is ignored (the API checked it when
 * it was saved).
 */
#ifndef CAREBUS_SLA_POLICY_H
#define CAREBUS_SLA_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar_config.h"
#include "db.h"
#include "event.h"

#define SLA_NPRIORITIES 5 /* indexed by Carebus__V1__Priority */
#define SLA_NTARGETS 4    /* indexed by Carebus__V1__SlaTarget */

struct sla_policy {
    char id[64];
    Carebus__V1__Segment segment;
    const calendar *cal;                         /* borrowed from the config */
    int warning_pct;                             /* 0: no warnings */
    int32_t secs[SLA_NPRIORITIES][SLA_NTARGETS]; /* business seconds; 0: not tracked */
};

typedef struct sla_config {
    calendar_config *cals; /* owned */
    struct sla_policy *pols;
    size_t npols;
} sla_config;

/* Loads the three files of dir (calendar_config_dir: without one, the
 * database's configuration stands) into PostgreSQL (sla.load_config) in the
 * current transaction. 0 (and *changed), or -1 logged with the file or SQL
 * error. Blocks. */
int sla_config_store_files(db *d, const char *dir, bool *changed);

/* Reads the configuration. NULL (logged) when it is unusable: a time zone
 * missing from the system, a calendar that never opens, no regular policy.
 * Blocks. */
sla_config *sla_config_load(db *d);
void sla_config_destroy(sla_config **pc);

/* "first_response", "next_response", "resolution"; NULL for UNSPECIFIED. */
const char *sla_target_name(Carebus__V1__SlaTarget t);
/* -1 for an unknown name. */
int sla_target_parse(const char *s, Carebus__V1__SlaTarget *out);

/* The policy of a segment; the regular policy for segments without one. */
const struct sla_policy *sla_config_policy(const sla_config *c, Carebus__V1__Segment segment);
/* NULL when unknown. */
const calendar *sla_config_calendar(const sla_config *c, const char *id);
/* The policy of that id; NULL when unknown. */
const struct sla_policy *sla_config_policy_id(const sla_config *c, const char *id);

/* The policy a ticket is held to (the rule above), into *out: a copy whose
 * calendar may be the team's. team_policy, team_calendar: the ticket's
 * team's settings, NULL for none. Pure. */
void sla_config_select(const sla_config *c, Carebus__V1__Segment segment, const char *team_policy,
                       const char *team_calendar, struct sla_policy *out);

#endif
