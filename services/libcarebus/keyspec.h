/* keyspec.h — a new API key: what it may do, checked once, and its row.
 *
 * carebusctl keys create and POST /v1/keys (channel-ingest) take the same
 * request — a name, scopes (KEYSPEC_DEFAULT_SCOPES unless named), channels
 * (every one unless named), the agent an agent key acts as, an expiry —
 * and keep the same rules, here: scopes and channels are names this build
 * knows (scope.h, the schema's channels), at least one of each when named;
 * a name is 1 to KEYSPEC_NAME_MAX bytes of UTF-8 without control
 * characters, an agent id likewise (ACCESS_AGENT_MAX); the agent scope and
 * an agent id go together; an expiry is in the future. An error names the
 * API's field ("scopes[1]", "agent_id") and says why, for a 400 or for
 * carebusctl's message. The statements that store, read and revoke keys
 * and the JSON of a key (never its secret nor its hash) are here too, once
 * for both. The key itself is apikey.h's; who may make which key is
 * access_within (access.h).
 */
#ifndef CAREBUS_KEYSPEC_H
#define CAREBUS_KEYSPEC_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "apikey.h"
#include "id.h"
#include "scope.h"

#define KEYSPEC_NAME_MAX 128
/* What a key made without scopes gets (the column's default in
 * deploy/migrations/0005_ingest_access.sql). */
#define KEYSPEC_DEFAULT_SCOPES (SCOPE_INGEST | SCOPE_READ)
/* The most names a list may hold (a name may repeat). */
#define KEYSPEC_LIST_MAX 32

struct keyspec {
    const char *name;     /* borrowed; NULL: not given */
    unsigned scopes;      /* SCOPE_* */
    uint32_t channels;    /* ACCESS_ALL_CHANNELS, or the named ones */
    const char *agent_id; /* borrowed; NULL: none */
    int64_t expires_us;   /* 0: never */
};

struct keyspec_error {
    char field[32];
    char message[256];
};

/* Every channel, the default scopes, nothing else. */
void keyspec_init(struct keyspec *s);

/* The scopes, resp. the channels, named by names[0..n): replace the
 * default. 0, or -1 with e (an unknown name: field "scopes[i]"; none:
 * "scopes"). */
int keyspec_set_scopes(struct keyspec *s, const char *const *names, size_t n,
                       struct keyspec_error *e);
int keyspec_set_channels(struct keyspec *s, const char *const *names, size_t n,
                         struct keyspec_error *e);

/* The same from comma-separated lists ("zalo, email"; blanks around names
 * are ignored), as carebusctl takes them; NULL: not given. */
int keyspec_set_lists(struct keyspec *s, const char *scopes, const char *channels,
                      struct keyspec_error *e);

/* The rules over the whole, now_us the time for the expiry. 0, or -1 with e. */
int keyspec_check(const struct keyspec *s, int64_t now_us, struct keyspec_error *e);

/* The grant a key made from s would have (id and agent copied). */
void keyspec_grant(const struct keyspec *s, const char *id, struct access_grant *g);

/* A key made from a checked spec: its id, its secret (shown once), and
 * KEYSPEC_SQL_INSERT's parameters (pointing into the struct). */
#define KEYSPEC_INSERT_PARAMS 7
struct keyspec_new {
    char id[ID_LEN];
    char key[APIKEY_LEN];
    char hash_hex[2 * APIKEY_HASH_LEN + 1];
    char scopes[128];
    char channels[ACCESS_CHANNELS_PARAM_LEN];
    char expires[24];
    const char *params[KEYSPEC_INSERT_PARAMS];
};

/* Makes the key: 0, or -1 when the random generator failed (nothing set). */
int keyspec_mint(const struct keyspec *s, struct keyspec_new *k);
/* Wipes the secret (call once it is answered or printed). */
void keyspec_wipe(struct keyspec_new *k);

/* A key's columns, in keyspec_row_json's and keyspec_row_grant's order. */
#define KEYSPEC_SQL_TIME(col)                                                                      \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* A time column in microseconds since 1970 (NULL, and an infinite time, a
 * row written by hand, NULL: no bigint holds it). */
#define KEYSPEC_SQL_US(col)                                                                        \
    "CASE WHEN isfinite(" col ") THEN (extract(epoch FROM " col ") * 1000000)::bigint END"
#define KEYSPEC_SQL_COLUMNS                                                                        \
    "id::text, name, array_to_string(channels, ','), array_to_string(scopes, ','), "               \
    "agent_id, " KEYSPEC_SQL_TIME("created_at") ", " KEYSPEC_SQL_TIME(                             \
        "expires_at") ", " KEYSPEC_SQL_TIME("revoked_at") ", " KEYSPEC_SQL_US("expires_at")
/* Stores keyspec_new's parameters; answers the key's columns. */
#define KEYSPEC_SQL_INSERT                                                                         \
    "INSERT INTO ingest.api_keys (id, name, key_hash, channels, scopes, agent_id, expires_at)"     \
    " VALUES ($1, $2, decode($3, 'hex'), $4::text[], $5::text[], $6,"                              \
    "         timestamptz 'epoch' + $7::bigint * interval '1 microsecond')"                        \
    " RETURNING " KEYSPEC_SQL_COLUMNS
/* Every key (sessions' too), oldest first. */
#define KEYSPEC_SQL_LIST                                                                           \
    "SELECT " KEYSPEC_SQL_COLUMNS " FROM ingest.api_keys ORDER BY created_at, id"
/* One key, $1 its id. */
#define KEYSPEC_SQL_ONE "SELECT " KEYSPEC_SQL_COLUMNS " FROM ingest.api_keys WHERE id = $1"
/* Revokes the key $1 unless it is already: one row (its name, and true
 * when revoked now), none for an unknown id. */
#define KEYSPEC_SQL_REVOKE                                                                         \
    "WITH upd AS (UPDATE ingest.api_keys SET revoked_at = now()"                                   \
    "              WHERE id = $1 AND revoked_at IS NULL RETURNING name)"                           \
    " SELECT name, true FROM upd"                                                                  \
    " UNION ALL"                                                                                   \
    " SELECT name, false FROM ingest.api_keys"                                                     \
    "  WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM upd)"

/* Row i of a result of KEYSPEC_SQL_COLUMNS as the API shows a key: {id,
 * name, scopes, channels (null: every one), agent_id, created_at,
 * expires_at, revoked_at}. NULL on allocation failure. */
json_t *keyspec_row_json(const PGresult *res, int i);
/* Its grant (names this build does not know are left out). */
void keyspec_row_grant(const PGresult *res, int i, struct access_grant *g);
/* Its channels shown as carebusctl shows them: "zalo,email" or "all". */
const char *keyspec_row_channels(const PGresult *res, int i);

#endif
