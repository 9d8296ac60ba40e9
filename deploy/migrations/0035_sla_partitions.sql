-- sla-monitor is partitioned by ticket (0081_partitions.sql): a rebuild
-- wipes every partition's offsets too.
CREATE OR REPLACE FUNCTION sla.reset_derived() RETURNS void
LANGUAGE sql AS $$
    TRUNCATE sla.ticket_facts, sla.tickets, sla.customer_segments, sla.team_settings,
             sla.targets, sla.emitted;
    DELETE FROM eventlog.offsets
     WHERE consumer = 'sla-monitor' OR consumer LIKE 'sla-monitor/%';
$$;
