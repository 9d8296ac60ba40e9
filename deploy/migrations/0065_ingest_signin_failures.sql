-- Sign-in failures in a row, per login (services/channel-ingest/lockout.h):
-- the agent's id when the login names one, else the login as typed, lower
-- case. A success deletes the row; a failure after the lockout time counts
-- from one again; rows older than the lockout time are swept by the next
-- failure (the index on last_at), so the table holds only the recent.
CREATE TABLE ingest.signin_failures (
    login    text PRIMARY KEY,
    failures integer NOT NULL,
    last_at  timestamptz NOT NULL
);
CREATE INDEX signin_failures_last_at ON ingest.signin_failures (last_at);
