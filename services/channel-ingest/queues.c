/* queues.c — GET /v1/queues: per team and per agent, how many open,
 * pending, unassigned and breaching tickets, and who has waited longest.
 *
 * One statement over router.queue_members, the active tickets' (open or
 * pending) queue columns that triggers keep beside router.tickets (0014:
 * one scan of a small dense table, rather than a heap page per active
 * ticket), joined to the tickets whose clock is breached
 * (sla.breached_tickets: a range of the running deadlines' index). Teams
 * are the active ones of router.teams and those of the active tickets and
 * of the agents; agents are
 * router.agents and any assignee of an active ticket, so that nobody's
 * tickets are left out. Waiting: for a team, the oldest queued_at of its
 * unassigned tickets (time in the queue); for an agent, the oldest
 * assignment among its open tickets (time in its hands). Counts span
 * channels: a key limited to some is refused.
 */
#include "ingest.h"

#define QUEUES_SQL                                                                                 \
    "WITH n AS MATERIALIZED (SELECT sla.now() AS now),"                                            \
    " a AS MATERIALIZED (SELECT q.team, q.assignee, q.status, q.queued_at, q.held_at,"             \
    "    b.ticket_id IS NOT NULL AS breaching"                                                     \
    "   FROM router.queue_members q"                                                               \
    "   LEFT JOIN (SELECT b.ticket_id FROM n, sla.breached_tickets(n.now) b) b"                    \
    "     ON b.ticket_id = q.ticket_id),"                                                          \
    " tg AS (SELECT a.team, count(*) FILTER (WHERE a.status = 'open') AS open,"                    \
    "    count(*) FILTER (WHERE a.status = 'pending') AS pending,"                                 \
    "    count(*) FILTER (WHERE a.assignee IS NULL) AS unassigned,"                                \
    "    count(*) FILTER (WHERE a.breaching) AS breaching,"                                        \
    "    min(a.queued_at) FILTER (WHERE a.assignee IS NULL) AS waiting_since"                      \
    "   FROM a WHERE a.team IS NOT NULL GROUP BY a.team),"                                         \
    " tm AS (SELECT x.team, coalesce(tg.open, 0) AS open, coalesce(tg.pending, 0) AS pending,"     \
    "    coalesce(tg.unassigned, 0) AS unassigned, coalesce(tg.breaching, 0) AS breaching,"        \
    "    tg.waiting_since"                                                                         \
    "   FROM (SELECT tg.team FROM tg UNION SELECT unnest(g.teams) FROM router.agents g"            \
    "         UNION SELECT r.id FROM router.teams r WHERE r.active) x"                             \
    "   LEFT JOIN tg ON tg.team = x.team),"                                                        \
    " gg AS (SELECT a.assignee, count(*) FILTER (WHERE a.status = 'open') AS open,"                \
    "    count(*) FILTER (WHERE a.status = 'pending') AS pending,"                                 \
    "    count(*) FILTER (WHERE a.breaching) AS breaching,"                                        \
    "    min(a.held_at) FILTER (WHERE a.status = 'open') AS waiting_since"                         \
    "   FROM a WHERE a.assignee IS NOT NULL GROUP BY a.assignee),"                                 \
    " ag AS (SELECT x.id, coalesce(gg.open, 0) AS open, coalesce(gg.pending, 0) AS pending,"       \
    "    coalesce(gg.breaching, 0) AS breaching, gg.waiting_since"                                 \
    "   FROM (SELECT gg.assignee AS id FROM gg UNION SELECT g.id FROM router.agents g) x"          \
    "   LEFT JOIN gg ON gg.assignee = x.id)"                                                       \
    " SELECT jsonb_build_object('at', n.now,"                                                      \
    "  'teams', coalesce((SELECT jsonb_agg(jsonb_build_object('team', tm.team,"                    \
    "      'open', tm.open, 'pending', tm.pending, 'unassigned', tm.unassigned,"                   \
    "      'breaching', tm.breaching, 'oldest_waiting_since', tm.waiting_since,"                   \
    "      'oldest_waiting_s', greatest(0, floor(extract(epoch FROM n.now - "                      \
    "tm.waiting_since)))::bigint)"                                                                 \
    "    ORDER BY tm.team) FROM tm), '[]'),"                                                       \
    "  'agents', coalesce((SELECT jsonb_agg(jsonb_build_object('agent_id', ag.id,"                 \
    "      'name', g.name, 'presence', g.presence, 'capacity', g.capacity, 'load', g.load,"        \
    "      'teams', coalesce(to_jsonb(g.teams), '[]'), 'open', ag.open, 'pending', ag.pending,"    \
    "      'breaching', ag.breaching, 'oldest_waiting_since', ag.waiting_since,"                   \
    "      'oldest_waiting_s', greatest(0, floor(extract(epoch FROM n.now - "                      \
    "ag.waiting_since)))::bigint)"                                                                 \
    "    ORDER BY ag.id) FROM ag LEFT JOIN router.agents g ON g.id = ag.id), '[]'))"               \
    " FROM n"

http_status queues_get(http_req *r, void *arg)
{
    ingest *in = arg;
    if (!auth_unscoped_ok(in->auth, r, auth_grant(r)))
        return HTTP_DONE;
    return readback_json(in, r, QUEUES_SQL, 0, NULL, "queues", "no queues", NULL);
}
