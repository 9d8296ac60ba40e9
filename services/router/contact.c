/* contact.c — contact.received onto the customer's single history.
 *
 * Everything is derived from the contact alone, so that a replay of the log
 * rebuilds the same rows: new rows take name-based ids of the contact's event
 * id (id_derive2), times are the contact's, and every insert accepts finding
 * its row already there. The contact's time is occurred_at, which travels in
 * the payload; recorded_at only when occurred_at is absent, and then from the
 * log itself if the envelope lacks it, because the log sets recorded_at on
 * what it reads while the bus may not carry it: the live path and a replay
 * must see the same time.
 *
 * Values reach SQL as parameters only. A failed statement aborts the
 * consumer's transaction: the handler returns CONSUMER_RETRY at once.
 */
#include "contact.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "id.h"
#include "identity.h"
#include "log.h"
#include "timeutil.h"

/* The lookup and the insert of identities take IDENTITY_SET_MAX (kind,
 * value) pairs; unused pairs are NULL and match nothing. */
_Static_assert(IDENTITY_SET_MAX == 3, "the identity SQL below has three (kind, value) slots");

/* Customers owning any of the handles, oldest first. */
#define CONTACT_FIND_SQL                                                                           \
    "SELECT c.id FROM router.customers c"                                                          \
    " WHERE c.id IN (SELECT i.customer_id FROM router.identities i"                                \
    "                 WHERE (i.kind, i.value) IN (($1, $2), ($3, $4), ($5, $6)))"                  \
    " ORDER BY c.created_at, c.id"

/* Creates the customer, or gives an existing one the name it lacked, and
 * attaches the handles nobody owns yet (one statement: the identities'
 * foreign key is checked at its end, after the customer's insert). */
#define CONTACT_UPSERT_SQL                                                                         \
    "WITH c AS ("                                                                                  \
    "  INSERT INTO router.customers AS c (id, name, created_at, updated_at)"                       \
    "  VALUES ($1::uuid, nullif(btrim($2), ''), $3::timestamptz, $3::timestamptz)"                 \
    "  ON CONFLICT (id) DO UPDATE"                                                                 \
    "    SET name = excluded.name, updated_at = greatest(c.updated_at, excluded.updated_at)"       \
    "    WHERE c.name IS NULL AND excluded.name IS NOT NULL)"                                      \
    " INSERT INTO router.identities (kind, value, customer_id, created_at)"                        \
    " SELECT t.kind, t.value, $1::uuid, $3::timestamptz"                                           \
    "   FROM (VALUES ($4::text, $5::text), ($6::text, $7::text), ($8::text, $9::text))"            \
    "        AS t (kind, value)"                                                                   \
    "  WHERE t.kind IS NOT NULL"                                                                   \
    " ON CONFLICT (kind, value) DO NOTHING"

/* The ticket a contact joins; locked until commit. Statuses are spelt as
 * event_ticket_status_name spells them, and "closed" is a literal so that
 * the planner matches the partial index tickets_customer_open. */
#define CONTACT_OPEN_TICKET_SQL                                                                    \
    "SELECT id FROM router.tickets WHERE customer_id = $1 AND status <> 'closed'"                  \
    " ORDER BY created_at, id LIMIT 1 FOR UPDATE"

#define CONTACT_NEW_TICKET_SQL                                                                     \
    "INSERT INTO router.tickets (id, customer_id, status, team, channel, subject,"                 \
    "                            opened_event_id, created_at, updated_at)"                         \
    " VALUES ($1, $2, 'open', $3, $4, nullif($5, ''), $6, $7, $7)"                                 \
    " ON CONFLICT DO NOTHING"

/* The timeline entry, and the ticket's last activity. */
#define CONTACT_MESSAGE_SQL                                                                        \
    "WITH m AS ("                                                                                  \
    "  INSERT INTO router.messages (event_id, ticket_id, customer_id, channel, direction,"         \
    "                               external_id, subject, text, at, stream, seq)"                  \
    "  VALUES ($1, $2, $3, $4, 'in', nullif($5, ''), nullif($6, ''), nullif($7, ''),"              \
    "          $8, $9, $10)"                                                                       \
    "  ON CONFLICT DO NOTHING RETURNING ticket_id, at)"                                            \
    " UPDATE router.tickets t SET updated_at = greatest(t.updated_at, m.at)"                       \
    "   FROM m WHERE t.id = m.ticket_id"

/* Context for log lines about ev (a new reference). */
static json_t *contact_log_fields(const event *ev)
{
    return json_pack("{s:s, s:s, s:I}", "event_id", ev->event_id ? ev->event_id : "", "stream",
                     ev->stream ? ev->stream : "", "seq", (json_int_t)ev->seq);
}

/* The contact's time in *out. 0, 1 when the log does not hold the event
 * (it can never apply), -1 when the database failed. */
static int contact_time(db *d, const event *ev, int64_t *out)
{
    if (ev->occurred_at) {
        *out = event_ts_us(ev->occurred_at);
        return 0;
    }
    if (ev->recorded_at) {
        *out = event_ts_us(ev->recorded_at);
        return 0;
    }
    /* The same expression as eventlog_read's, so both paths agree to the
     * microsecond. */
    const char *params[] = {ev->event_id};
    PGresult *res = db_exec(d,
                            "SELECT (extract(epoch FROM recorded_at) * 1000000)::bigint"
                            " FROM eventlog.events WHERE event_id = $1",
                            1, params);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples(res) == 1) {
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Fills the (kind, value) parameter pairs from ids; unused pairs stay NULL. */
static void contact_identity_params(const struct identity_set *ids, const char **params)
{
    for (size_t i = 0; i < IDENTITY_SET_MAX; i++) {
        params[2 * i] = i < ids->n ? ids->items[i].kind : NULL;
        params[2 * i + 1] = i < ids->n ? ids->items[i].value : NULL;
    }
}

/* How many customers own any of ids (-1 on error); the oldest in out. */
static int contact_find_customer(db *d, const struct identity_set *ids, char out[ID_LEN])
{
    const char *params[2 * IDENTITY_SET_MAX];
    contact_identity_params(ids, params);
    PGresult *res = db_exec(d, CONTACT_FIND_SQL, 2 * IDENTITY_SET_MAX, params);
    if (!res)
        return -1;
    int n = PQntuples(res);
    if (n > 0)
        snprintf(out, ID_LEN, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static int contact_upsert_customer(db *d, const char *customer_id, const char *name,
                                   const struct identity_set *ids, const char *at)
{
    const char *params[3 + 2 * IDENTITY_SET_MAX] = {customer_id, name, at};
    contact_identity_params(ids, params + 3);
    return db_command(d, CONTACT_UPSERT_SQL, 3 + 2 * IDENTITY_SET_MAX, params);
}

/* 1 with the ticket's id in out, 0 when the customer has none that is not
 * closed, -1 on error. */
static int contact_open_ticket(db *d, const char *customer_id, char out[ID_LEN])
{
    const char *params[] = {customer_id};
    PGresult *res = db_exec(d, CONTACT_OPEN_TICKET_SQL, 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        snprintf(out, ID_LEN, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

/* Emits e with the correlation ids and the contact's time (e points at
 * the caller's stack; consumer_emit copies it). */
static int contact_emit(consumer_txn *tx, event *e, const char *customer_id, const char *ticket_id,
                        int64_t at)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    event_ts_set(&ts, at);
    e->occurred_at = &ts;
    e->customer_id = (char *)customer_id;
    e->ticket_id = (char *)ticket_id;
    int rc = consumer_emit(tx, e);
    e->occurred_at = NULL;
    return rc;
}

/* Logs a contact whose customer fields were given but unusable (skipped:
 * none was usable). Values are not quoted: they are personal data, and logs
 * outlive the rows they would identify. */
static void contact_log_rejected(const event *ev, unsigned rejected, bool skipped)
{
    if (!rejected) {
        log_write(LOG_WARN, contact_log_fields(ev),
                  "contact %s gives no phone, email or handle: it cannot be routed", ev->event_id);
        return;
    }
    char what[64] = "";
    if (rejected & IDENTITY_BAD_PHONE)
        strcat(what, ", \"phone\"");
    if (rejected & IDENTITY_BAD_EMAIL)
        strcat(what, ", \"email\"");
    if (rejected & IDENTITY_BAD_HANDLE)
        strcat(what, ", \"handle\"");
    log_write(skipped ? LOG_WARN : LOG_INFO, contact_log_fields(ev),
              "contact %s: could not normalise the customer's %s: %s", ev->event_id, what + 2,
              skipped ? "no usable handle, it cannot be routed" : "ignored");
}

consumer_result contact_received(router *r, consumer_txn *tx, const event *ev)
{
    assert(ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED);
    const Carebus__V1__ContactReceived *c = ev->contact_received;
    assert(c && "an unpacked envelope with a body case always has the body");
    db *d = consumer_txn_db(tx);

    if (!id_valid(ev->event_id)) {
        log_write(LOG_WARN, contact_log_fields(ev),
                  "contact.received: malformed event id \"%.40s\"", ev->event_id);
        return CONSUMER_SKIP;
    }
    const char *channel = event_channel_name(c->channel);
    if (!channel[0]) {
        log_write(LOG_WARN, contact_log_fields(ev), "contact %s: unknown channel %d", ev->event_id,
                  (int)c->channel);
        return CONSUMER_SKIP;
    }
    struct identity_set ids;
    identity_set_from_ref(&ids, c->channel, c->customer, r->country);
    if (ids.n == 0 || ids.rejected) {
        contact_log_rejected(ev, ids.rejected, ids.n == 0);
        if (ids.n == 0)
            return CONSUMER_SKIP;
    }

    int64_t at_us;
    int rc = contact_time(d, ev, &at_us);
    if (rc < 0)
        return CONSUMER_RETRY;
    if (rc > 0) {
        log_write(LOG_WARN, contact_log_fields(ev), "contact %s has no time and is not in the log",
                  ev->event_id);
        return CONSUMER_SKIP;
    }
    char at[TIME_RFC3339_LEN];
    time_format_rfc3339(at_us, at);

    /* The customer: the one who owns these handles, or a new one. */
    char customer_id[ID_LEN];
    int owners = contact_find_customer(d, &ids, customer_id);
    if (owners < 0)
        return CONSUMER_RETRY;
    if (owners == 0)
        id_derive2(ev->event_id, "customer", customer_id);
    if (owners > 1) {
        /* XXX: two customers turn out to be one. Until merge (issue 4:
         * customer.merged, identities, tickets and history moved to the
         * older) the contact goes to the oldest, which also gets the handles
         * nobody owns; the others keep theirs. */
        log_write(LOG_INFO, contact_log_fields(ev),
                  "contact %s carries handles of %d customers: routed to the oldest, %s, "
                  "without merging",
                  ev->event_id, owners, customer_id);
    }
    const char *name = c->customer ? c->customer->name : NULL;
    if (contact_upsert_customer(d, customer_id, name, &ids, at) != 0)
        return CONSUMER_RETRY;

    /* The ticket: the customer's that is not closed, or a new one. */
    /* XXX: a solved ticket still takes the contact; issue 4 brings the
     * reopen window (reopen within it, a new ticket after) and threading by
     * in_reply_to and email references. */
    char ticket_id[ID_LEN];
    int found = contact_open_ticket(d, customer_id, ticket_id);
    if (found < 0)
        return CONSUMER_RETRY;
    if (!found) {
        id_derive2(ev->event_id, "ticket", ticket_id);
        const char *params[] = {
            ticket_id, customer_id, r->default_team, channel, c->subject, ev->event_id, at,
        };
        if (db_command(d, CONTACT_NEW_TICKET_SQL, 7, params) != 0)
            return CONSUMER_RETRY;
    }

    char seq[24];
    snprintf(seq, sizeof seq, "%" PRIu64, ev->seq);
    const char *params[] = {
        ev->event_id, ticket_id, customer_id, channel,    c->external_id,
        c->subject,   c->text,   at,          ev->stream, seq,
    };
    if (db_command(d, CONTACT_MESSAGE_SQL, 10, params) != 0)
        return CONSUMER_RETRY;

    /* Events, in the order a reader of the ticket expects them: opened with
     * its first contact, then routed (classification slots in before the
     * assignment with issue 4). */
    if (!found) {
        Carebus__V1__TicketOpened opened = CAREBUS__V1__TICKET_OPENED__INIT;
        opened.channel = c->channel;
        opened.subject = c->subject;
        opened.contact_event_id = ev->event_id;
        event e = CAREBUS__V1__ENVELOPE__INIT;
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED;
        e.ticket_opened = &opened;
        if (contact_emit(tx, &e, customer_id, ticket_id, at_us) != 0)
            return CONSUMER_RETRY;
    }
    Carebus__V1__TicketContactAdded added = CAREBUS__V1__TICKET_CONTACT_ADDED__INIT;
    added.contact_event_id = ev->event_id;
    added.channel = c->channel;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED;
    e.ticket_contact_added = &added;
    if (contact_emit(tx, &e, customer_id, ticket_id, at_us) != 0)
        return CONSUMER_RETRY;
    if (!found) {
        Carebus__V1__TicketAssigned assigned = CAREBUS__V1__TICKET_ASSIGNED__INIT;
        assigned.team = (char *)r->default_team;
        event a = CAREBUS__V1__ENVELOPE__INIT;
        a.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGNED;
        a.ticket_assigned = &assigned;
        if (contact_emit(tx, &a, customer_id, ticket_id, at_us) != 0)
            return CONSUMER_RETRY;
    }
    return CONSUMER_OK;
}
