-- Sign-in attempts in a row that did not succeed, per login
-- (services/channel-ingest/lockout.h): 'agent:' and the agent's id when the
-- login names one, else 'login:' and the login as typed, in lower case. An
-- attempt is counted before its password is checked, and a success deletes
-- the row. last_at is the last attempt let through: attempts refused while
-- locked out count without moving it, so the lockout ends on time. A row
-- older than the lockout counts from one again, and is swept by a later
-- attempt of another login (the index on last_at).
CREATE TABLE ingest.signin_failures (
    login    text PRIMARY KEY,
    failures integer NOT NULL,
    last_at  timestamptz NOT NULL
);
CREATE INDEX signin_failures_last_at ON ingest.signin_failures (last_at);
