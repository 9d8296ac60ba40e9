/* queues.c — GET /v1/queues: per team and per agent, how many open,
 * pending, unassigned and breaching tickets, and who has waited longest.
 *
 * One statement over the active tickets (open or pending: the partial index
 * tickets_list_active) joined to every running SLA clock at once
 * (sla.ticket_clocks, a hash join rather than a probe per ticket). Teams
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
    " a AS MATERIALIZED (SELECT t.team, t.assignee, t.status, t.queued_at,"                        \
    "    coalesce(t.assigned_at, t.created_at) AS held_at,"                                        \
    "    coalesce(c.state = 'breached', false) AS breaching"                                       \
    "   FROM router.tickets t"                                                                     \
    "   LEFT JOIN (SELECT k.ticket_id, k.state FROM n, sla.ticket_clocks(n.now) k) c"              \
    "     ON c.ticket_id = t.id"                                                                   \
    "  WHERE t.status IN ('open', 'pending')),"                                                    \
    " tm AS (SELECT x.team, count(a.status) FILTER (WHERE a.status = 'open') AS open,"             \
    "    count(a.status) FILTER (WHERE a.status = 'pending') AS pending,"                          \
    "    count(a.status) FILTER (WHERE a.assignee IS NULL) AS unassigned,"                         \
    "    count(a.status) FILTER (WHERE a.breaching) AS breaching,"                                 \
    "    min(a.queued_at) FILTER (WHERE a.assignee IS NULL) AS waiting_since"                      \
    "   FROM (SELECT a.team FROM a WHERE a.team IS NOT NULL"                                       \
    "         UNION SELECT unnest(g.teams) FROM router.agents g"                                   \
    "         UNION SELECT r.id FROM router.teams r WHERE r.active) x"                             \
    "   LEFT JOIN a ON a.team = x.team GROUP BY x.team),"                                          \
    " ag AS (SELECT x.id, count(a.status) FILTER (WHERE a.status = 'open') AS open,"               \
    "    count(a.status) FILTER (WHERE a.status = 'pending') AS pending,"                          \
    "    count(a.status) FILTER (WHERE a.breaching) AS breaching,"                                 \
    "    min(a.held_at) FILTER (WHERE a.status = 'open') AS waiting_since"                         \
    "   FROM (SELECT a.assignee AS id FROM a WHERE a.assignee IS NOT NULL"                         \
    "         UNION SELECT g.id FROM router.agents g) x"                                           \
    "   LEFT JOIN a ON a.assignee = x.id GROUP BY x.id)"                                           \
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
