/* import.c — see import.h. */
#include "import.h"

#include "emit.h"
#include "log.h"

void import_prepare(route_item *it, const char *country)
{
    const Carebus__V1__CustomerImported *x = it->ev->customer_imported;
    if (route_ref_erased(x->customer)) {
        /* Read again after the customer's erasure (a rebuild): placed
         * where it went live, recalled (import.h). */
        it->erased = true;
        return;
    }
    identity_set_from_ref(&it->ids, x->channel, x->customer, country);
    if (it->ids.n == 0) {
        log_write(LOG_WARN, route_item_fields(it),
                  "%s %s gives no usable phone, email or handle:"
                  " skipped",
                  it->ev->type, it->ev->event_id);
        it->skip = true;
    }
}

static bool given(const char *s)
{
    return s && s[0];
}

/* Sets key in the customer's attribute patch. 0 or -1 (out of memory). */
static int attribute(m_customer *x, const char *key, const char *value)
{
    if (!x->attr_patch && !(x->attr_patch = json_object()))
        return -1;
    return json_object_set_new(x->attr_patch, key, json_string(value ? value : ""));
}

int import_apply(route_ctx *c, const route_item *it)
{
    model *m = c->m;
    const Carebus__V1__CustomerImported *r = it->ev->customer_imported;
    const char *name = r->customer && given(r->customer->name) ? r->customer->name : NULL;
    int owners[IDENTITY_SET_MAX + 1];
    size_t nown = route_owners(m, it, owners);
    int cu = nown ? owners[0] : route_customer_new(c, it, name);
    for (size_t i = 1; i < nown; i++)
        if (route_customer_merge(c, it, cu, owners[i]) != 0)
            return -1;
    route_identities_add(c, it, cu);
    arena_grow(&m->a, (void **)&m->import, &m->importcap, m->nimport + 1, sizeof *m->import);
    m->import[m->nimport++] = (m_import){.event_id = model_strdup(m, it->ev->event_id), .cust = cu};
    /* Where it went, for a rebuild that reads it erased (recall.h). */
    Carebus__V1__CustomerImportApplied placed = CAREBUS__V1__CUSTOMER_IMPORT_APPLIED__INIT;
    placed.import_event_id = it->ev->event_id;
    placed.created = nown == 0;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_IMPORT_APPLIED;
    e.customer_import_applied = &placed;
    if (emit(c->em, &e, m->cust[cu].id, NULL, it->at) != 0)
        return -1;

    m_customer *x = &m->cust[cu];
    Carebus__V1__Segment was = x->segment;
    if (name)
        x->name = model_strdup(m, name);
    if (r->segment >= CAREBUS__V1__SEGMENT__SEGMENT_REGULAR &&
        r->segment <= CAREBUS__V1__SEGMENT__SEGMENT_WHOLESALE)
        x->segment = r->segment;
    if (r->status == CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE ||
        r->status == CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED)
        x->status = r->status;
    /* An erased import's attributes and CRM id read "[erased]": the
     * erasure left none. */
    for (size_t i = 0; !it->erased && i < r->n_attributes; i++)
        if (given(r->attributes[i]->key) &&
            attribute(x, r->attributes[i]->key, r->attributes[i]->value) != 0)
            return -1;
    /* After the attributes: the CRM's id is the CRM's, whatever they say. */
    if (!it->erased && given(r->crm_id) && attribute(x, "crm_id", r->crm_id) != 0)
        return -1;
    if (x->updated == MODEL_NONE || x->updated < it->at)
        x->updated = it->at;
    x->dirty = true;
    if (x->segment == was)
        return 0;
    for (size_t i = 0; i < m->cust[cu].ntickets; i++) {
        int t = m->cust[cu].tickets[i];
        if (model_ticket_active(&m->tick[t]) && m->tick[t].merged_into < 0 &&
            route_priority_update(c, t) && route_emit_classified(c, t, it->at) != 0)
            return -1;
    }
    return 0;
}
