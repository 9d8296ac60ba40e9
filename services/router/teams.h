/* teams.h — teams as a resource: team.saved (POST and PATCH /v1/teams),
 * over the teams of the router's configuration file.
 *
 * router.teams holds both. The file's teams are the seed a fresh install
 * starts from: teams_seed writes them (saved_at NULL) at start and on
 * reload, never over a team saved through the API, and forgets those the
 * file no longer names. A team.saved makes a team the API's (saved_at
 * set): from then on what it says holds — active or not (an inactive team
 * takes no transfer or manual assignment), its lead (the one escalations
 * go to, before any lead a presence names). The rules' category -> team
 * routes stay the file's. calendar and sla_policy are kept for the API
 * (checked there against sla.calendars and sla.policies); sla-monitor
 * reads them from the same event (its policy.h).
 */
#ifndef CAREBUS_ROUTER_TEAMS_H
#define CAREBUS_ROUTER_TEAMS_H

#include <stdbool.h>

#include "db.h"
#include "model.h"
#include "route.h"
#include "rules.h"

#define TEAMS_ID_MAX 128

/* route_prepare: a save names a team (logged when not). */
bool teams_usable(const route_item *it);

/* Sets on t what s states (the fields update_mask names, or all) at time
 * at. Pure but for the model's arena. */
void teams_apply(model *m, m_team *t, const Carebus__V1__TeamSaved *s, int64_t at);

/* route.c's handler of team.saved. 0 or -1. */
int teams_saved(route_ctx *c, const route_item *it);

/* The lead a saved team names, when that agent is known and active: its
 * index; -1 otherwise. */
int teams_lead(const model *m, const char *team);

/* Writes the configuration's teams into router.teams (one statement, in
 * its own transaction). 0, or -1 (logged; the next start or reload tries
 * again). Blocks. */
int teams_seed(db *d, const rules *r);

#endif
