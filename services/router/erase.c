/* erase.c — see erase.h. */
#include "erase.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "datakey.h"
#include "db.h"
#include "eventlog.h"
#include "id.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"

/* A customer and those merged into it: a bound on what one erasure names. */
#define ERASE_MAX_CUSTOMERS 1000

void erase_prepare(route_item *it)
{
    if (!id_valid(it->ev->customer_id)) {
        log_write(LOG_WARN, route_item_fields(it), "%s %s: no valid customer_id: skipped",
                  it->ev->type, it->ev->event_id);
        it->skip = true;
    }
}

/* One spelling of a contact's handle, phone or e-mail, with the identity
 * it stands for (kind NULL when it stands for none), into out. */
static int erase_spelling(json_t *out, const char *spelling, const struct identity *id)
{
    json_t *o = json_pack("{s:s, s:s?, s:s?}", "s", spelling, "k", id ? id->kind : NULL, "v",
                          id ? id->value : NULL);
    return o && json_array_append_new(out, o) == 0 ? 0 : -1;
}

/* The handles, phones and e-mails of the customer's contacts as they were
 * spelled, read from the log before their keys go, each with the identity
 * it stands for, into a JSON array of {"s", "k", "v"}. */
static int erase_spellings(db *d, const char *customer_id, json_t *out)
{
    const char *p[] = {customer_id};
    PGresult *r = db_exec_binary(
        d,
        "SELECT e.payload, " EVENTLOG_DATAKEY_COL " FROM eventlog.events e" EVENTLOG_DATAKEY_JOIN
        " JOIN router.messages m ON m.event_id = e.event_id"
        " JOIN router.customers c ON c.id = m.customer_id"
        " WHERE (c.id = $1 OR c.merged_into = $1) AND e.type = 'contact.received'",
        1, p);
    if (!r)
        return -1;
    int c_pay = PQfnumber(r, "payload"), c_key = PQfnumber(r, "datakey"), rc = 0;
    buf b = BUF_INIT;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        event *ev = eventlog_event_row(r, i, c_pay, c_key, &b);
        if (!ev) {
            rc = -1;
            break;
        }
        const Carebus__V1__ContactReceived *c =
            ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED ? ev->contact_received
                                                                          : NULL;
        const Carebus__V1__CustomerRef *who = c ? c->customer : NULL;
        const char *vals[] = {who ? who->handle : NULL, who ? who->phone : NULL,
                              who ? who->email : NULL};
        for (size_t k = 0; rc == 0 && k < 3; k++) {
            if (!vals[k] || !vals[k][0] || strcmp(vals[k], DATAKEY_ERASED) == 0)
                continue;
            struct identity id = {{0}, {0}};
            int found = k == 0   ? identity_handle(c->channel, vals[k], NULL, &id)
                        : k == 1 ? identity_phone(vals[k], NULL, id.value)
                                 : identity_email(vals[k], id.value);
            if (found == 0 && k > 0)
                snprintf(id.kind, sizeof id.kind, "%s", k == 1 ? "phone" : "email");
            rc = erase_spelling(out, vals[k], found == 0 ? &id : NULL);
        }
        event_destroy(&ev);
    }
    buf_release(&b);
    PQclear(r);
    return rc;
}

/* XXX: courier's messaging windows are keyed by the handle as a contact
 * spelled it, with no customer: the router, which can tell whose contacts
 * they were, drops them here (its one write outside its schema) rather
 * than name the handles in an event. A spelling that stands for an
 * identity of another customer (a family's shared phone, which the erased
 * customer's contact also gave) keeps its window: that customer's. */
static int erase_windows(db *d, const char *customer_id)
{
    json_t *spellings = json_array();
    char *text = NULL;
    int rc = -1;
    if (!spellings || erase_spellings(d, customer_id, spellings) != 0)
        goto out;
    rc = 0;
    if (json_array_size(spellings) == 0 || !(text = json_dumps(spellings, JSON_COMPACT))) {
        rc = json_array_size(spellings) == 0 ? 0 : -1;
        goto out;
    }
    const char *p[] = {text, customer_id};
    rc = db_command(d,
                    "WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x (s text, k text,"
                    "                                                           v text)),"
                    " kept AS (SELECT x.s FROM x JOIN router.identities i"
                    "            ON i.kind = x.k AND i.value = x.v"
                    "          JOIN router.customers c ON c.id = i.customer_id"
                    "          WHERE c.id <> $2::uuid AND c.merged_into IS DISTINCT FROM $2::uuid)"
                    " DELETE FROM courier.windows"
                    " WHERE handle IN (SELECT s FROM x) AND handle NOT IN (SELECT s FROM kept)",
                    2, p);
out:
    free(text);
    json_decref(spellings);
    return rc;
}

int erase_apply(route_ctx *c, const route_item *it)
{
    const event *ev = it->ev;
    const Carebus__V1__CustomerErasureRequested *r = ev->customer_erasure_requested;
    if (erase_windows(c->m->db, ev->customer_id) != 0)
        return -1;
    const char *p[] = {ev->customer_id};
    PGresult *res = db_exec(c->m->db,
                            "SELECT array_to_string(customer_ids, ',') AS ids, keys_destroyed"
                            " FROM router.erase($1)",
                            1, p);
    if (!res)
        return -1;
    int rc = -1;
    /* NULL ids: a customer the router does not know (a rebuild, when the
     * customer's own events no longer make it). */
    const char *known = PQntuples(res) == 1 ? db_value(res, 0, "ids") : NULL;
    char *ids = strdup(known ? known : "");
    long keys = PQntuples(res) == 1 ? strtol(db_value(res, 0, "keys_destroyed"), NULL, 10) : 0;
    PQclear(res);
    if (!ids)
        return -1;
    if (!ids[0]) {
        log_write(LOG_INFO, route_item_fields(it), "%s %s: unknown customer %s: nothing erased",
                  ev->type, ev->event_id, ev->customer_id);
        rc = 0;
        goto out;
    }
    char *list[ERASE_MAX_CUSTOMERS];
    size_t n = 0;
    for (char *save = NULL, *s = strtok_r(ids, ",", &save); s && n < ERASE_MAX_CUSTOMERS;
         s = strtok_r(NULL, ",", &save))
        list[n++] = s;
    Carebus__V1__CustomerErased body = CAREBUS__V1__CUSTOMER_ERASED__INIT;
    body.n_customer_ids = n;
    body.customer_ids = list;
    body.actor = r->actor;
    body.reason = r->reason;
    body.keys_destroyed = (uint32_t)keys;
    event out = CAREBUS__V1__ENVELOPE__INIT;
    out.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASED;
    out.customer_erased = &body;
    rc = emit(c->em, &out, ev->customer_id, NULL, it->at);
    if (rc == 0) {
        metrics_add("carebus_router_erasures_total", 1);
        log_write(LOG_INFO, route_item_fields(it),
                  "customer %s erased (%zu customers, %ld data keys destroyed)", ev->customer_id, n,
                  keys);
    }
out:
    free(ids);
    return rc;
}
