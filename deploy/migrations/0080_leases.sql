-- Who may apply a consumer's events: one lease row per consumer (and
-- partition), held by one instance at a time (services/libcarebus/lease.h).
--
-- Times are PostgreSQL's clock (clock_timestamp()), never an instance's, so
-- instances on machines whose clocks disagree still agree on expiry. token
-- grows by one at every acquisition: it is the fencing token. A consumer's
-- transaction re-reads its row FOR SHARE just before it advances its
-- offsets and commits only if the token is still the one it acquired, so an
-- instance that stalled past its lease (and was replaced) cannot commit;
-- the row lock also makes a takeover wait for a commit already under way.
--
-- part is the partition. XXX: every consumer holds one partition (0) for
-- now: the router's and sla-monitor's state is global (agents' loads and
-- queues, the one log order a rebuild replays), see README "Running two of
-- each".
CREATE TABLE eventlog.leases (
    consumer    text        NOT NULL,
    part        integer     NOT NULL CHECK (part >= 0),
    owner       text        NOT NULL,
    token       bigint      NOT NULL CHECK (token > 0),
    acquired_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (consumer, part)
);

COMMENT ON TABLE eventlog.leases IS
    'One row per consumer partition: the instance allowed to apply its events '
    '(owner, until expires_at) and the fencing token checked by every commit.';
