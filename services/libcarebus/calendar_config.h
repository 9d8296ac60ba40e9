/* calendar_config.h — calendars from configuration: sla-calendars.json and
 * sla-holidays.json (deploy/config), and short text forms of hours and dates.
 *
 * Every service that counts business time builds its calendars here, so
 * "vn-business" means the same everywhere: sla-monitor from the documents
 * sla.load_config accepted, analytics from the files. Only what business
 * time needs is checked, in the documented forms; where PostgreSQL is
 * looser ("2026-1-1", booleans as strings, holiday ranges over a year) the
 * file is refused with the reason rather than read differently.
 */
#ifndef CAREBUS_CALENDAR_CONFIG_H
#define CAREBUS_CALENDAR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "calendar.h"

#define CALENDAR_CONFIG_CALENDARS "sla-calendars.json"
#define CALENDAR_CONFIG_HOLIDAYS "sla-holidays.json"
/* The longest holiday range ({"from", "to"}) accepted, in days. */
#define CALENDAR_CONFIG_MAX_RANGE 366

/* The calendars of one configuration, finished (immutable), in the order
 * of the document. */
typedef struct calendar_config {
    calendar **cals; /* owned */
    size_t ncals;
} calendar_config;

/* The configuration directory: CAREBUS_SLA_CONFIG_DIR when set
 * (*is_explicit = true), else deploy/config under the working directory or
 * under the source tree the binary was built in
 * (build/<mode>/bin/../../../deploy/config) when it holds
 * CALENDAR_CONFIG_CALENDARS, else NULL. Owned. */
char *calendar_config_dir(bool *is_explicit);

/* Builds the calendars of the two documents (JSON text). NULL when a
 * document is not JSON or a calendar is unusable; err (errlen bytes) then
 * says which and why. */
calendar_config *calendar_config_parse(const char *calendars_json, const char *holidays_json,
                                       char *err, size_t errlen);
/* The same from the files CALENDAR_CONFIG_CALENDARS and
 * CALENDAR_CONFIG_HOLIDAYS of dir; err names the file. Blocks on the file
 * system. */
calendar_config *calendar_config_load(const char *dir, char *err, size_t errlen);
void calendar_config_destroy(calendar_config **pc);

/* Borrowed; NULL when there is no calendar id. */
const calendar *calendar_config_find(const calendar_config *c, const char *id);
/* Removes calendar id from c and hands it to the caller; NULL when unknown. */
calendar *calendar_config_take(calendar_config *c, const char *id);

/* Opening hours as text, for a calendar not yet finished: groups separated
 * by ';', each a weekday or a range of them and its spans separated by ','
 * ("mon-fri 08:00-12:00,13:00-17:00; sat 08:00-12:00"; a range may wrap:
 * "fri-mon"), or "24/7" (every day 00:00-24:00, holidays still closed). A
 * later group replaces the spans of the days it names. -1 with *err (static
 * storage) on a bad text; c may then hold part of it. */
int calendar_config_add_hours(calendar *c, const char *hours, const char **err);
/* Closed dates as text: "2026-01-01,2026-02-16" (commas or spaces between,
 * may be empty). -1 with *err (static storage) on a bad date. */
int calendar_config_add_holidays(calendar *c, const char *dates, const char **err);

#endif
