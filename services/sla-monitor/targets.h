/* targets.h — sla.targets at the C/SQL border, described once.
 *
 * The consumer writes a ticket's target rows from the fold (apply.c) and
 * reads back their deadlines under lock; the timers load and sweep them
 * (timers.c). All of it goes through this one description (rowset.h) of
 * a struct sla_target: the fold's row, the ticket it belongs to, and the
 * ticket-wide columns each row repeats. A column the fold leaves at 0 is
 * NULL in the table (a paused target has no deadline, see fold.h).
 *
 * Every column reads back (rowset_read), so that a recomputation can tell
 * a row it would write unchanged: a row read back is written out as the
 * table holds it. Its strings point into the result it was read from.
 */
#ifndef CAREBUS_SLA_TARGETS_H
#define CAREBUS_SLA_TARGETS_H

#include "fold.h"
#include "id.h"
#include "rowset.h"

struct sla_target {
    char ticket_id[ID_LEN];
    struct sla_row r;
    const char *policy_id, *calendar_id, *priority, *segment; /* borrowed */
};

extern const rowset_table sla_targets;

/* The columns a recomputation may change (all but the key). */
#define SLA_TARGETS_MUTABLE                                                                        \
    "status,policy_id,calendar_id,priority,segment,target_secs,started_at,due_at,warn_at,"         \
    "achieved_at,cancelled_at,remaining_business_secs,warned,breached,next_fire_at"

/* The ctids of the rows of sla.targets whose keys (ticket_id, target,
 * cycle) the rows `keys` hold (SQL: "{@rows $2 v ticket_id,target,cycle}",
 * alias v), as an array for "t.ctid = ANY(...)": each row probed by its
 * key (LATERAL ... OFFSET 0) whatever the statistics say; PostgreSQL
 * then reads them by ctid (a TID scan, or a scan of a small table). Joined to the keys instead, a statement is costed against the
 * JSON's guess of 100 rows, and on a young or not yet analyzed table
 * PostgreSQL hashed a scan of all of sla.targets. For rows the
 * transaction has locked (their ctids then stay). */
#define SLA_TARGETS_BY_KEY(keys)                                                                   \
    "ARRAY(SELECT p.ctid FROM " keys ", LATERAL (SELECT r.ctid FROM sla.targets r"                 \
    " WHERE r.ticket_id = v.ticket_id AND r.target = v.target AND r.cycle = v.cycle OFFSET 0) p)"

#endif
