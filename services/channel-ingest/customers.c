/* customers.c — a customer's profile: PUT to change it, GET to read it,
 * and look-up by any handle.
 *
 * The router owns customers: a PUT becomes a customer.profile_updated
 * event (envelope customer_id set) for a customer it knows (404 otherwise,
 * checked on the read queue); the reads answer what the router's
 * router.customer_json builds, and the look-up follows merges through
 * router.customer_find.
 */
#include "audit.h"
#include "customers.h"
#include "customers_search.h"

#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "ops.h"
#include "timeutil.h"
#include "write.h"

#define CUSTOMER_EXISTS_SQL "SELECT 1 FROM router.customers WHERE id = $1::uuid"

static int parse_attributes(const json_t *root, struct op *o, struct message_error *err)
{
    Carebus__V1__CustomerProfileUpdated *b = &o->body.profile;
    json_t *attrs = json_object_get(root, "attributes");
    if (!attrs || json_is_null(attrs))
        return 0;
    if (!json_is_object(attrs))
        return field_fail(err, "invalid_field", "attributes",
                          "\"attributes\" must be an object of strings");
    if (json_object_size(attrs) > OP_MAX_ATTRIBUTES)
        return field_fail(err, "invalid_field", "attributes",
                          "\"attributes\" has more than %d members", OP_MAX_ATTRIBUTES);
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(attrs, key, v)
    {
        char field[64];
        snprintf(field, sizeof field, "attributes.%s", key);
        if (!field_token_valid(key, OP_MAX_NAME))
            return field_fail(err, "invalid_field", field,
                              "attribute names must be 1 to %d bytes without control characters",
                              OP_MAX_NAME);
        Carebus__V1__CustomerProfileUpdated__AttributesEntry *e = &o->attrs[i];
        carebus__v1__customer_profile_updated__attributes_entry__init(e);
        if (!json_is_string(v))
            return field_fail(err, "invalid_field", field, "\"%s\" must be a string", field);
        if (json_string_length(v) > 1024)
            return field_fail(err, "invalid_field", field,
                              "\"%s\" is too long (at most 1024 bytes)", field);
        e->key = (char *)key;
        e->value = (char *)json_string_value(v);
        o->attr_ptrs[i++] = e;
    }
    b->n_attributes = i;
    b->attributes = i ? o->attr_ptrs : NULL;
    return 0;
}

int customers_profile_parse(const json_t *root, const char *customer_id, int64_t now_us,
                            struct op *o, struct message_error *err)
{
    if (ops_begin(o, root, err) != 0)
        return -1;
    Carebus__V1__CustomerProfileUpdated *b = &o->body.profile;
    carebus__v1__customer_profile_updated__init(b);
    int seg = 0, st = 0;
    bool has_seg = false, has_st = false;
    if (field_string(root, "name", "name", FIELD_TEXT, 512, &b->name, err) ||
        field_enum(root, "segment", "segment", FIELD_OPTIONAL, &carebus__v1__segment__descriptor,
                   &seg, &has_seg, err) ||
        field_enum(root, "status", "status", FIELD_OPTIONAL,
                   &carebus__v1__customer_status__descriptor, &st, &has_st, err) ||
        parse_attributes(root, o, err))
        return -1;
    b->segment = (Carebus__V1__Segment)seg;
    b->status = (Carebus__V1__CustomerStatus)st;
    if (!b->name[0] && !has_seg && !has_st && !b->n_attributes)
        return field_fail(err, "missing_field", "",
                          "the body needs at least one of name, segment, status or attributes");
    o->ev.customer_profile_updated = b;
    o->ev.customer_id = (char *)customer_id;
    return ops_finish(o, root, CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED, now_us, err);
}

http_status customers_put(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, in, &g);
    if (!w)
        return HTTP_DONE;
    const char *id = http_param(r, "id");
    struct message_error err;
    if (customers_profile_parse(w->root, id, time_now_us(), &w->u.op, &err) != 0)
        return write_reject_invalid(w, &err);
    if (!auth_unscoped_ok(in->auth, r, g) || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    return write_submit_if_exists(w, &w->u.op.ev, CUSTOMER_EXISTS_SQL, "customer", id);
}

http_status customers_get(http_req *r, void *arg)
{
    http_status held;
    if (audit_hold(r, arg, AUDIT_CUSTOMER, &held))
        return held;
    ingest *in = arg;
    /* A customer spans channels: a key limited to some reads none. */
    if (!auth_unscoped_ok(in->auth, r, auth_grant(r)))
        return HTTP_DONE;
    return readback_by_id(in, r, "SELECT router.customer_json($1::uuid)", "customer", NULL);
}

static bool given(const char *s)
{
    return s && *s;
}

int customers_lookup_parse(const char *phone, const char *email, const char *channel,
                           const char *handle, struct identity *out, struct message_error *err)
{
    int n = given(phone) + given(email) + (given(channel) || given(handle));
    if (n == 0)
        return field_fail(err, "missing_field", "phone",
                          "give one of \"phone\", \"email\", or \"channel\" and \"handle\"");
    if (n > 1)
        return field_fail(err, "invalid_field", given(phone) ? "phone" : "email",
                          "give only one of \"phone\", \"email\", or \"channel\" and \"handle\"");
    if (given(phone)) {
        char e164[IDENTITY_PHONE_LEN];
        if (strlen(phone) > 64 || identity_phone(phone, NULL, e164) != 0)
            return field_fail(err, "invalid_field", "phone",
                              "could not read \"phone\" as a phone number");
        snprintf(out->kind, sizeof out->kind, "phone");
        snprintf(out->value, sizeof out->value, "%s", e164);
        return 0;
    }
    if (given(email)) {
        if (strlen(email) > 320 || identity_email(email, out->value) != 0)
            return field_fail(err, "invalid_field", "email",
                              "could not read \"email\" as an email address");
        snprintf(out->kind, sizeof out->kind, "email");
        return 0;
    }
    Carebus__V1__Channel c;
    if (!given(channel))
        return field_fail(err, "missing_field", "channel",
                          "\"channel\" is required with \"handle\"");
    if (event_channel_parse(channel, &c) != 0)
        return field_fail(err, "invalid_field", "channel", "\"channel\" must be one of %s",
                          vocab_list(&carebus__v1__channel__descriptor));
    if (!given(handle))
        return field_fail(err, "missing_field", "handle",
                          "\"handle\" is required with \"channel\"");
    if (strlen(handle) > 1024 || identity_handle(c, handle, NULL, out) != 0)
        return field_fail(err, "invalid_field", "handle", "\"handle\" is not a valid %s handle",
                          channel);
    return 0;
}

http_status customers_find(http_req *r, void *arg)
{
    http_status held;
    if (audit_hold(r, arg, AUDIT_NONE, &held))
        return held;
    ingest *in = arg;
    if (!auth_unscoped_ok(in->auth, r, auth_grant(r)))
        return HTTP_DONE;
    if (http_query(r, "q"))
        return customers_search(r, in);
    struct identity id;
    struct message_error err;
    if (customers_lookup_parse(http_query(r, "phone"), http_query(r, "email"),
                               http_query(r, "channel"), http_query(r, "handle"), &id, &err) != 0) {
        ingest_reject(r, 400, err.code, err.code, err.field, "%s", err.message);
        return HTTP_DONE;
    }
    /* The handle is personal data: it stays out of the answer and the log. */
    char missing[64];
    bool handle = strcmp(id.kind, "phone") != 0 && strcmp(id.kind, "email") != 0;
    snprintf(missing, sizeof missing, "no customer with this %s%s", id.kind,
             handle ? " handle" : "");
    const char *params[] = {id.kind, id.value};
    return readback_json(in, r, "SELECT router.customer_json(router.customer_find($1, $2))", 2,
                         params, "customer", missing, NULL);
}
