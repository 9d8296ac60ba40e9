/* lease.h — one instance at a time applies a consumer's events.
 *
 * Every instance of a consumer service keeps a lease object; the one that
 * holds the row in eventlog.leases applies, the others stand by and try to
 * take it over once it expires (a dead or stalled holder stops renewing).
 * Expiry is judged by PostgreSQL's clock. Each acquisition increments the
 * row's token, and lease_fence checks it inside the consumer's transaction
 * (0080_leases.sql), so a holder that stalled past its lease cannot commit
 * after its successor took over: two instances never both apply an event.
 *
 * An instance is named by CAREBUS_INSTANCE_ID (default host:port): a
 * restarted instance takes its own lease back at once instead of waiting
 * for it to expire, with a new token all the same.
 */
#ifndef CAREBUS_LEASE_H
#define CAREBUS_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* How long a lease lasts unless renewed (CAREBUS_LEASE_MS); it is renewed
 * every third of that, and a standby tries to take it that often too. */
#define LEASE_MS_DEFAULT 3000
#define LEASE_MS_MIN 300
#define LEASE_MS_MAX 600000

typedef struct lease lease;

typedef enum {
    LEASE_STANDBY, /* not held (someone else holds it, or the database is down) */
    LEASE_HELD,    /* held, as at the last look */
    LEASE_GAINED,  /* just acquired: whatever was read before is stale */
    LEASE_LOST,    /* was held and is not any more: stop acting */
} lease_state;

/* consumer, part: the row's key (the consumer's name; its partition, 0
 * when it is not partitioned: partset.h). owner: this instance's name.
 * ms: LEASE_MS_MIN .. LEASE_MS_MAX. NULL on allocation failure. */
lease *lease_new(const char *consumer, int part, const char *owner, int ms);
void lease_destroy(lease **pl);

/* Renews the lease, or tries to acquire it, when due (every ms/3); a
 * cheap no-op otherwise. An attempt db_begin refuses (the connection's
 * writers back off: DB_NOT_NOW) stays due: tried again at the next call.
 * Not in a transaction. Blocks on the database, never longer than a short
 * lock timeout and the bounded commit. */
lease_state lease_tick(lease *l, db *d, int64_t now_ms);

/* Whether this instance may act (it held the lease at the last look). */
bool lease_held(const lease *l);
/* The token of the lease held, 0 if none. */
int64_t lease_token(const lease *l);
/* In the open transaction that is about to commit this instance's work:
 * 0 when the lease is still ours, and then renewed for a lease from now
 * in this same transaction (its row stays locked until the transaction
 * ends, so no takeover can pass the commit, and the renewal commits with
 * the work); 1 when it was taken over (the lease is then dropped: roll
 * back), -1 when the database failed. */
int lease_fence(lease *l, db *d);

/* Right after BEGIN (after lease_limit_txn) of a transaction that
 * lease_fence will check: locks the lease's row if it is still ours, so
 * that no standby takes it over while the transaction runs, however long
 * (a batch longer than the lease). A row no longer ours is not locked:
 * lease_fence then refuses the commit. 0 or -1 (the database failed). */
int lease_hold(lease *l, db *d);

/* lease_hold and lease_fence for several leases (the partitions of a
 * consumer that one transaction applies together: partset.h), each
 * checked against its own token, in one statement each. lease_fence_all:
 * 0 when every one is still ours (each renewed); 1 when one or more was
 * taken over (or is not held): those are dropped, the others stay held
 * (roll back, and let each commit alone); -1 when the database failed. */
int lease_hold_all(lease *const *ls, size_t n, db *d);
int lease_fence_all(lease *const *ls, size_t n, db *d);

/* Right after BEGIN of a transaction that lease_fence will check: a
 * holder that stalls inside it (SIGSTOP, a paused VM) would keep its row
 * locks, and its successor would wait on them for ever; PostgreSQL ends
 * such a session after twice the lease instead. 0 or -1. */
int lease_limit_txn(const lease *l, db *d);

/* Gives the lease up (at a clean stop, or to make room for another
 * instance: partset.h), so that a standby takes over at once rather than
 * after expiry. Not in a transaction. */
void lease_release(lease *l, db *d);

/* The default instance name: CAREBUS_INSTANCE_ID, else "host:port".
 * Writes at most len bytes. */
void lease_instance_id(int port, char *out, size_t len);

#endif
