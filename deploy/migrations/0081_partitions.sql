-- Partitioned consumers (services/libcarebus/partset.h): a consumer may be
-- split into a fixed number of partitions, each with its own lease row in
-- eventlog.leases (part 0 .. parts-1) and its own offsets, under the name
-- "<consumer>/<part>" in eventlog.offsets. This resolves 0080's XXX for
-- sla-monitor; a consumer not partitioned keeps one lease (part 0) and its
-- offsets under its plain name, as before.
--
-- Which partition an event belongs to is the service's to say (a ticket's
-- partition is eventlog.part_of(ticket_id, parts)); events that concern
-- many (a customer's segment, a team's settings) are applied by every
-- partition to its own rows.

-- The number of partitions of a consumer, fixed for the life of its log:
-- the first instance records it, and an instance configured otherwise
-- refuses to start (a different count would assign events to partitions
-- whose offsets say they were applied elsewhere).
CREATE TABLE eventlog.partitionings (
    consumer text    PRIMARY KEY,
    parts    integer NOT NULL CHECK (parts BETWEEN 2 AND 1024)
);
COMMENT ON TABLE eventlog.partitionings IS
    'How many partitions a partitioned consumer has (fixed for the life of the log).';

-- Who is alive among a partitioned consumer's instances: each renews its
-- row as it renews its leases, and takes its fair share of the partitions,
-- ceil(parts / live members); one holding more gives the extras back. A
-- member that holds no partition yet is visible here, which is how the
-- others learn that they must make room.
CREATE TABLE eventlog.lease_members (
    consumer   text        NOT NULL,
    owner      text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (consumer, owner)
);
COMMENT ON TABLE eventlog.lease_members IS
    'The live instances of each partitioned consumer (renewed with their leases).';

-- The partition of an id among parts: its last 28 bits mod parts (ids are
-- random or hashed UUIDs, so their low bits are uniform). libcarebus's
-- partset_of computes the same in C.
CREATE FUNCTION eventlog.part_of(id uuid, parts integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (('x' || right(id::text, 7))::bit(28)::integer) % parts
$$;
COMMENT ON FUNCTION eventlog.part_of(uuid, integer) IS
    'The partition (0 .. parts-1) of an id: its last 28 bits modulo parts.';

-- How far a consumer has applied a stream: its offset, or for a partitioned
-- consumer the least of its partitions' (a partition without a row yet
-- counts as 0). NULL when nothing was ever committed.
CREATE FUNCTION eventlog.consumer_seq(name text, stream_name text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p.parts IS NULL THEN
            (SELECT o.seq FROM eventlog.offsets o WHERE o.consumer = name AND o.stream = stream_name)
        ELSE
            (SELECT min(coalesce(o.seq, 0)) FROM generate_series(0, p.parts - 1) g(k)
               LEFT JOIN eventlog.offsets o
                 ON o.consumer = name || '/' || g.k AND o.stream = stream_name)
        END
      FROM (SELECT (SELECT parts FROM eventlog.partitionings WHERE consumer = name) AS parts) p
$$;
COMMENT ON FUNCTION eventlog.consumer_seq(text, text) IS
    'A consumer''s offset on a stream (the least of its partitions'' when partitioned).';

COMMENT ON COLUMN eventlog.leases.part IS
    'the partition (0 .. eventlog.partitionings.parts - 1; 0 for a consumer not partitioned)';
