/* store.c — prefetching a batch's rows and writing back its changes.
 *
 * Each router table is described once (rowset.h): its columns, their SQL
 * types and where the model keeps them. The select lists, the readers of
 * prefetched rows and the set-based writes all come from those tables;
 * columns derived from the model (a customer id through the merge chain, a
 * status name) have a getter, and a setter when they are read back.
 *
 * Prefetch order matters: messages named by threading give tickets, named
 * tickets give customers, handles give customers, and customers give their
 * tickets that are not closed (the ones a contact can join or reopen, and
 * the ones a merge moves). A customer or ticket merged away is loaded with
 * its survivor, so the model can follow the chain. The tickets replies go
 * on bring their conversations and their customers' handles (addressing
 * the message.outbound); what a merge in the batch adds is loaded when a
 * reply needs it (store_conversation).
 *
 * Writes go parent first (customers, identities, tickets, then messages
 * and notes), so that every foreign key finds its row; delivery statuses
 * are applied after the messages they name (router.delivery_apply). Rows
 * added in the batch point at model indexes; they are written with the ids
 * of the final survivors, so that a merge later in the same batch is
 * already applied.
 */
#include "store.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipe.h"
#include "rowset.h"
#include "unmerge.h"
#include "vocab.h"

/* --- accessors ------------------------------------------------------------------ */

static const char *cust_id(const model *m, int c)
{
    return m->cust[model_customer_final(m, c)].id;
}

static const char *tick_id(const model *m, int t)
{
    return m->tick[model_ticket_final(m, t)].id;
}

static char *store_strdup(void *ctx, const char *s)
{
    return model_strdup(ctx, s);
}

/* A JSON array of strings into the arena (NULL-terminated). */
static const char **string_list(model *m, const char *json, size_t *n)
{
    *n = 0;
    json_t *a = json ? json_loads(json, 0, NULL) : NULL;
    size_t len = json_is_array(a) ? json_array_size(a) : 0;
    const char **out = arena_calloc(&m->a, len + 1, sizeof *out);
    for (size_t i = 0; i < len; i++) {
        const json_t *v = json_array_get(a, i);
        if (json_is_string(v))
            out[(*n)++] = model_strdup(m, json_string_value(v));
    }
    json_decref(a);
    return out;
}

/* router.customers */

static void cu_segment_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, event_segment_name(((const m_customer *)row)->segment));
}

static int cu_segment_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    Carebus__V1__Segment seg = CAREBUS__V1__SEGMENT__SEGMENT_REGULAR;
    if (v)
        event_segment_parse(v, &seg);
    ((m_customer *)row)->segment = seg;
    return 0;
}

/* Churned or active: the table has no other status. */
static void cu_status_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(
        p, event_customer_status_name(((const m_customer *)row)->status ==
                                              CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED
                                          ? CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED
                                          : CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE));
}

static int cu_status_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    Carebus__V1__CustomerStatus st = CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE;
    if (v)
        event_customer_status_parse(v, &st);
    ((m_customer *)row)->status = st;
    return 0;
}

/* Written as the survivor's id; read back by link_merges once every row
 * of the batch is in the model. */
static void cu_merged_get(rowset_put *p, const void *row, const void *ctx)
{
    const m_customer *c = row;
    rowset_put_str(p, c->merged_into >= 0 ? cust_id(ctx, c->merged_into) : NULL);
}

#define CU(f) ROWSET_AT(m_customer, f)
static const struct rowset_col customer_cols[] = {
    {"id", "uuid", ROWSET_ID, CU(id)},
    {"name", "text", ROWSET_STR, CU(name)},
    {"segment", "text", ROWSET_FN, .get = cu_segment_get, .set = cu_segment_set},
    {"status", "text", ROWSET_FN, .get = cu_status_get, .set = cu_status_set},
    {"merged_into", "uuid", ROWSET_FN, .get = cu_merged_get},
    {"merged_at", "timestamptz", ROWSET_TIME, CU(merged_at), .none = MODEL_NONE},
    {"created_at", "timestamptz", ROWSET_TIME, CU(created), .none = MODEL_NONE},
    {"updated_at", "timestamptz", ROWSET_TIME, CU(updated), .none = MODEL_NONE},
};
static const rowset_table customers = {"router.customers", customer_cols,
                                       ROWSET_COUNT(customer_cols), store_strdup};

/* A profile update's attributes, merged into the customer's. */
static void cu_patch_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    char *patch = json_dumps(((const m_customer *)row)->attr_patch, JSON_COMPACT | JSON_SORT_KEYS);
    rowset_put_json(p, patch);
    free(patch);
}

static const struct rowset_col attribute_cols[] = {
    {"id", "uuid", ROWSET_ID, CU(id)},
    {"patch", "jsonb", ROWSET_FN, .get = cu_patch_get},
};
#undef CU
static const rowset_table attributes = {"router.customers", attribute_cols,
                                        ROWSET_COUNT(attribute_cols), NULL};

/* router.tickets */

static void tk_customer_get(rowset_put *p, const void *row, const void *ctx)
{
    const m_ticket *t = row;
    rowset_put_str(p, t->cust >= 0 ? cust_id(ctx, t->cust) : t->customer_id);
}

static int tk_customer_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    m_ticket *t = row;
    snprintf(t->customer_id, sizeof t->customer_id, "%s", v ? v : "");
    return 0;
}

static void tk_status_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, event_ticket_status_name(((const m_ticket *)row)->status));
}

static int tk_status_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    Carebus__V1__TicketStatus st;
    if (!v || event_ticket_status_parse(v, &st) != 0)
        st = CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN;
    ((m_ticket *)row)->status = st;
    return 0;
}

static void tk_category_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const m_ticket *t = row;
    rowset_put_str(p, t->category ? event_category_name(t->category) : NULL);
}

static int tk_category_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    Carebus__V1__Category cat = CAREBUS__V1__CATEGORY__CATEGORY_UNSPECIFIED;
    if (v)
        event_category_parse(v, &cat);
    ((m_ticket *)row)->category = cat;
    return 0;
}

/* A JSON array in the model, a text[] in the table (never NULL there). */
static void tk_reasons_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const m_ticket *t = row;
    rowset_put_json(p, t->reasons ? t->reasons : "[]");
}

static int tk_reasons_set(void *row, const char *v, void *ctx)
{
    m_ticket *t = row;
    t->reasons = model_strdup(ctx, v);
    return v && !t->reasons ? -1 : 0;
}

/* Manual operations' columns (manual.h). */
static void tk_tags_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const m_ticket *t = row;
    rowset_put_strv(p, t->tags, t->ntags);
}

static int tk_tags_set(void *row, const char *v, void *ctx)
{
    m_ticket *t = row;
    t->tags = string_list(ctx, v, &t->ntags);
    return 0;
}

static void put_category(rowset_put *p, Carebus__V1__Category c)
{
    rowset_put_str(p, c ? event_category_name(c) : NULL);
}

static Carebus__V1__Category read_category(const char *v)
{
    Carebus__V1__Category c = CAREBUS__V1__CATEGORY__CATEGORY_UNSPECIFIED;
    if (v)
        event_category_parse(v, &c);
    return c;
}

static void tk_cat_override_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    put_category(p, ((const m_ticket *)row)->cat_override);
}

static int tk_cat_override_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    ((m_ticket *)row)->cat_override = read_category(v);
    return 0;
}

static void tk_cat_rules_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    put_category(p, ((const m_ticket *)row)->cat_rules);
}

static int tk_cat_rules_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    ((m_ticket *)row)->cat_rules = read_category(v);
    return 0;
}

static void tk_merged_get(rowset_put *p, const void *row, const void *ctx)
{
    const m_ticket *t = row;
    rowset_put_str(p, t->merged_into >= 0 ? tick_id(ctx, t->merged_into) : NULL);
}

/* Written once, with the ticket (unmerge.h). */
static void tk_opened_by_get(rowset_put *p, const void *row, const void *ctx)
{
    const m_ticket *t = row;
    if (t->opened_by[0])
        rowset_put_str(p, t->opened_by);
    else
        tk_customer_get(p, row, ctx);
}

static int tk_opened_by_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    m_ticket *t = row;
    snprintf(t->opened_by, sizeof t->opened_by, "%s", v ? v : "");
    return 0;
}

#define TK(f) ROWSET_AT(m_ticket, f)
#define TK_TIME(name, f)                                                                           \
    {                                                                                              \
        name, "timestamptz", ROWSET_TIME, TK(f), .none = MODEL_NONE                                \
    }
static const struct rowset_col ticket_cols[] = {
    {"id", "uuid", ROWSET_ID, TK(id)},
    {"customer_id", "uuid", ROWSET_FN, .get = tk_customer_get, .set = tk_customer_set},
    {"status", "text", ROWSET_FN, .get = tk_status_get, .set = tk_status_set},
    {"category", "text", ROWSET_FN, .get = tk_category_get, .set = tk_category_set},
    {"category_rule", "text", ROWSET_STR, TK(rule)},
    {"category_phrase", "text", ROWSET_STR, TK(phrase)},
    {"priority_rank", "smallint", ROWSET_INT, TK(rank)},
    {"priority_reasons", "text[]", ROWSET_FN, .get = tk_reasons_get, .set = tk_reasons_set},
    {"team", "text", ROWSET_STR, TK(team)},
    {"assignee", "text", ROWSET_STR, TK(assignee)},
    {"channel", "text", ROWSET_STR, TK(channel)},
    {"subject", "text", ROWSET_STR, TK(subject)},
    {"opened_event_id", "uuid", ROWSET_ID, TK(opened_event_id)},
    {"opened_by_customer_id", "uuid", ROWSET_FN, .get = tk_opened_by_get, .set = tk_opened_by_set},
    {"contacts", "integer", ROWSET_INT, TK(contacts)},
    {"urgent_word", "text", ROWSET_STR, TK(urgent_word)},
    {"escalated_rank", "smallint", ROWSET_INT, TK(escalated_rank)},
    {"reopened", "integer", ROWSET_INT, TK(reopened)},
    {"number", "bigint", ROWSET_I64, TK(number), .none = 0, .flags = ROWSET_NULLABLE},
    {"merged_into", "uuid", ROWSET_FN, .get = tk_merged_get},
    TK_TIME("created_at", created),
    TK_TIME("updated_at", updated),
    TK_TIME("assigned_at", assigned),
    TK_TIME("queued_at", queued),
    TK_TIME("solved_at", solved),
    TK_TIME("closed_at", closed),
    TK_TIME("escalated_at", escalated),
    {"tags", "text[]", ROWSET_FN, .get = tk_tags_get, .set = tk_tags_set},
    {"priority_override", "smallint", ROWSET_INT, TK(prio_override), .none = 0,
     .flags = ROWSET_NULLABLE},
    {"category_override", "text", ROWSET_FN, .get = tk_cat_override_get,
     .set = tk_cat_override_set},
    {"category_rules", "text", ROWSET_FN, .get = tk_cat_rules_get, .set = tk_cat_rules_set},
};
#undef TK_TIME
#undef TK
static const rowset_table tickets = {"router.tickets", ticket_cols, ROWSET_COUNT(ticket_cols),
                                     store_strdup};

/* router.agents */

static void ag_presence_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    rowset_put_str(p, event_presence_name(((const m_agent *)row)->presence));
}

static int ag_presence_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    Carebus__V1__Presence pr = CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE;
    if (v)
        event_presence_parse(v, &pr);
    ((m_agent *)row)->presence = pr;
    return 0;
}

static void ag_teams_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const m_agent *a = row;
    rowset_put_strv(p, a->teams, a->nteams);
}

static int ag_teams_set(void *row, const char *v, void *ctx)
{
    m_agent *a = row;
    a->teams = string_list(ctx, v, &a->nteams);
    return 0;
}

static void ag_leads_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const m_agent *a = row;
    rowset_put_strv(p, a->leads, a->nleads);
}

static int ag_leads_set(void *row, const char *v, void *ctx)
{
    m_agent *a = row;
    a->leads = string_list(ctx, v, &a->nleads);
    return 0;
}

static void ag_languages_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const m_agent *a = row;
    rowset_put_strv(p, a->languages, a->nlanguages);
}

static int ag_languages_set(void *row, const char *v, void *ctx)
{
    m_agent *a = row;
    a->languages = string_list(ctx, v, &a->nlanguages);
    return 0;
}

static void ag_role_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const m_agent *a = row;
    const char *name = vocab_name(&carebus__v1__agent_role__descriptor, (int)a->role);
    rowset_put_str(p, name[0] ? name : "agent");
}

static int ag_role_set(void *row, const char *v, void *ctx)
{
    (void)ctx;
    int role = CAREBUS__V1__AGENT_ROLE__AGENT_ROLE_AGENT;
    if (v)
        vocab_parse(&carebus__v1__agent_role__descriptor, v, &role);
    ((m_agent *)row)->role = (Carebus__V1__AgentRole)role;
    return 0;
}

#define AG(f) ROWSET_AT(m_agent, f)
static const struct rowset_col agent_cols[] = {
    {"id", "text", ROWSET_STR, AG(id)},
    {"name", "text", ROWSET_STR, AG(name)},
    {"presence", "text", ROWSET_FN, .get = ag_presence_get, .set = ag_presence_set},
    {"capacity", "integer", ROWSET_INT, AG(capacity)},
    {"teams", "text[]", ROWSET_FN, .get = ag_teams_get, .set = ag_teams_set},
    {"leads", "text[]", ROWSET_FN, .get = ag_leads_get, .set = ag_leads_set},
    {"load", "integer", ROWSET_INT, AG(load)},
    {"last_active_at", "timestamptz", ROWSET_TIME, AG(last_active), .none = MODEL_NONE},
    {"updated_at", "timestamptz", ROWSET_TIME, AG(updated), .none = MODEL_NONE},
    {"email", "text", ROWSET_STR, AG(email)},
    {"languages", "text[]", ROWSET_FN, .get = ag_languages_get, .set = ag_languages_set},
    {"role", "text", ROWSET_FN, .get = ag_role_get, .set = ag_role_set},
    {"active", "boolean", ROWSET_BOOL, AG(active)},
    {"password_hash", "text", ROWSET_STR, AG(password_hash)},
    {"saved_at", "timestamptz", ROWSET_TIME, AG(saved), .none = MODEL_NONE},
    {"offline_since", "timestamptz", ROWSET_TIME, AG(offline_since), .none = MODEL_NONE},
    {"offline_event_id", "uuid", ROWSET_ID, AG(offline_event)},
};
#undef AG
static const rowset_table agents = {"router.agents", agent_cols, ROWSET_COUNT(agent_cols),
                                    store_strdup};

/* router.teams */

#define TM(f) ROWSET_AT(m_team, f)
static const struct rowset_col team_cols[] = {
    {"id", "text", ROWSET_STR, TM(id)},
    {"name", "text", ROWSET_STR, TM(name)},
    {"lead_agent_id", "text", ROWSET_STR, TM(lead)},
    {"calendar", "text", ROWSET_STR, TM(calendar)},
    {"sla_policy", "text", ROWSET_STR, TM(sla_policy)},
    {"active", "boolean", ROWSET_BOOL, TM(active)},
    {"saved_at", "timestamptz", ROWSET_TIME, TM(saved), .none = MODEL_NONE},
    {"created_at", "timestamptz", ROWSET_TIME, TM(created), .none = MODEL_NONE},
    {"updated_at", "timestamptz", ROWSET_TIME, TM(updated), .none = MODEL_NONE},
};
#undef TM
static const rowset_table teams = {"router.teams", team_cols, ROWSET_COUNT(team_cols),
                                   store_strdup};

/* router.canned_replies (written only) */

#define CN(f) ROWSET_AT(m_canned, f)
static const struct rowset_col canned_cols[] = {
    {"id", "text", ROWSET_STR, CN(id)},
    {"title", "text", ROWSET_STR, CN(title)},
    {"text", "text", ROWSET_STR, CN(text)},
    {"language", "text", ROWSET_STR, CN(language)},
    {"team", "text", ROWSET_STR, CN(team)},
    {"shortcut", "text", ROWSET_STR, CN(shortcut)},
    {"created_at", "timestamptz", ROWSET_TIME, CN(created), .none = MODEL_NONE},
    {"updated_at", "timestamptz", ROWSET_TIME, CN(updated), .none = MODEL_NONE},
};
#undef CN
static const rowset_table canned = {"router.canned_replies", canned_cols, ROWSET_COUNT(canned_cols),
                                    NULL};

/* router.identities */

static void id_customer_get(rowset_put *p, const void *row, const void *ctx)
{
    rowset_put_str(p, cust_id(ctx, ((const m_identity *)row)->cust));
}

/* Read back after the customers: the owner's survivor, -1 when unknown. */
static int id_customer_set(void *row, const char *v, void *ctx)
{
    ((m_identity *)row)->cust = v ? model_customer_final(ctx, model_customer(ctx, v)) : -1;
    return 0;
}

/* The customer it was first known with: fixed when it is first written
 * (unmerge.h). */
static void id_origin_get(rowset_put *p, const void *row, const void *ctx)
{
    const m_identity *x = row;
    rowset_put_str(p, x->origin ? x->origin : cust_id(ctx, x->cust));
}

static int id_origin_set(void *row, const char *v, void *ctx)
{
    m_identity *x = row;
    x->origin = model_strdup(ctx, v);
    return 0;
}

#define ID(f) ROWSET_AT(m_identity, f)
static const struct rowset_col identity_cols[] = {
    {"kind", "text", ROWSET_STR, ID(kind)},
    {"value", "text", ROWSET_STR, ID(value)},
    {"customer_id", "uuid", ROWSET_FN, .get = id_customer_get, .set = id_customer_set},
    {"origin_customer_id", "uuid", ROWSET_FN, .get = id_origin_get, .set = id_origin_set},
    {"created_at", "timestamptz", ROWSET_TIME, ID(created), .none = MODEL_NONE},
};
#undef ID
static const rowset_table identities = {"router.identities", identity_cols,
                                        ROWSET_COUNT(identity_cols), store_strdup};

/* router.messages (a message's ticket is the final one of its index) */

static void ms_ticket_get(rowset_put *p, const void *row, const void *ctx)
{
    const model *m = ctx;
    rowset_put_str(p, m->tick[model_ticket_final(m, ((const m_message *)row)->ticket)].id);
}

static int ms_ticket_set(void *row, const char *v, void *ctx)
{
    ((m_message *)row)->ticket = v ? model_ticket(ctx, v) : -1;
    return 0;
}

static void ms_customer_get(rowset_put *p, const void *row, const void *ctx)
{
    const model *m = ctx;
    int t = model_ticket_final(m, ((const m_message *)row)->ticket);
    rowset_put_str(p, cust_id(m, m->tick[t].cust));
}

/* The ticket a message or note was filed on, when a merge in the batch
 * moved it (an unmerge takes it back: unmerge.h). */
static void home_put(rowset_put *p, const model *m, int t)
{
    rowset_put_str(p, t >= 0 && model_ticket_final(m, t) != t ? m->tick[t].id : NULL);
}

static void ms_home_get(rowset_put *p, const void *row, const void *ctx)
{
    home_put(p, ctx, ((const m_message *)row)->ticket);
}

#define MS(f) ROWSET_AT(m_message, f)
static const struct rowset_col message_cols[] = {
    {"event_id", "uuid", ROWSET_STR, MS(event_id)},
    {"ticket_id", "uuid", ROWSET_FN, .get = ms_ticket_get, .set = ms_ticket_set},
    {"customer_id", "uuid", ROWSET_FN, .get = ms_customer_get},
    {"channel", "text", ROWSET_STR, MS(channel)},
    {"direction", "text", ROWSET_STR, MS(direction)},
    {"external_id", "text", ROWSET_STR, MS(external_id)},
    {"subject", "text", ROWSET_STR, MS(subject)},
    {"text", "text", ROWSET_STR, MS(text)},
    {"agent_id", "text", ROWSET_STR, MS(agent_id)},
    {"at", "timestamptz", ROWSET_TIME, MS(at), .none = MODEL_NONE},
    {"stream", "text", ROWSET_STR, MS(stream)},
    {"seq", "bigint", ROWSET_U64, MS(seq)},
    {"attachments", "jsonb", ROWSET_JSON, MS(attachments)},
    {"outbound_kind", "text", ROWSET_STR, MS(outbound_kind)},
    {"delivery_id", "uuid", ROWSET_STR, MS(delivery_id)},
    {"recipient", "text", ROWSET_STR, MS(recipient)},
    {"home_ticket_id", "uuid", ROWSET_FN, .get = ms_home_get},
};
#undef MS
static const rowset_table messages = {"router.messages", message_cols, ROWSET_COUNT(message_cols),
                                      store_strdup};

/* router.notes */

static void nt_ticket_get(rowset_put *p, const void *row, const void *ctx)
{
    const model *m = ctx;
    rowset_put_str(p, m->tick[model_ticket_final(m, ((const m_note *)row)->ticket)].id);
}

static void nt_customer_get(rowset_put *p, const void *row, const void *ctx)
{
    const model *m = ctx;
    int t = model_ticket_final(m, ((const m_note *)row)->ticket);
    rowset_put_str(p, cust_id(m, m->tick[t].cust));
}

static void nt_home_get(rowset_put *p, const void *row, const void *ctx)
{
    home_put(p, ctx, ((const m_note *)row)->ticket);
}

static void nt_detail_get(rowset_put *p, const void *row, const void *ctx)
{
    (void)ctx;
    const m_note *x = row;
    rowset_put_json(p, x->detail ? x->detail : "{}");
}

#define NT(f) ROWSET_AT(m_note, f)
static const struct rowset_col note_cols[] = {
    {"id", "uuid", ROWSET_ID, NT(id)},
    {"ticket_id", "uuid", ROWSET_FN, .get = nt_ticket_get},
    {"customer_id", "uuid", ROWSET_FN, .get = nt_customer_get},
    {"kind", "text", ROWSET_STR, NT(kind)},
    {"text", "text", ROWSET_STR, NT(text)},
    {"detail", "jsonb", ROWSET_FN, .get = nt_detail_get},
    {"at", "timestamptz", ROWSET_TIME, NT(at), .none = MODEL_NONE},
    {"cause_id", "uuid", ROWSET_STR, NT(cause_id)},
    {"stream", "text", ROWSET_STR, NT(stream)},
    {"seq", "bigint", ROWSET_U64, NT(seq)},
    {"ord", "smallint", ROWSET_INT, NT(ord)},
    {"home_ticket_id", "uuid", ROWSET_FN, .get = nt_home_get},
};
#undef NT
static const rowset_table notes = {"router.notes", note_cols, ROWSET_COUNT(note_cols), NULL};

/* router.delivery_pending (a status's watermark is a time, or NULL) */

#define ST(f) ROWSET_AT(m_status, f)
static const struct rowset_col status_cols[] = {
    {"event_id", "uuid", ROWSET_STR, ST(event_id)},
    {"n", "integer", ROWSET_INT, ST(n)},
    {"status", "text", ROWSET_STR, ST(status)},
    {"delivery_id", "uuid", ROWSET_STR, ST(delivery_id)},
    {"channel", "text", ROWSET_STR, ST(channel)},
    {"provider_message_id", "text", ROWSET_STR, ST(provider_message_id)},
    {"recipient", "text", ROWSET_STR, ST(recipient)},
    {"watermark", "timestamptz", ROWSET_TIME, ST(watermark), .none = MODEL_NONE},
    {"at", "timestamptz", ROWSET_TIME, ST(at), .none = MODEL_NONE},
    {"code", "text", ROWSET_STR, ST(code)},
    {"reason", "text", ROWSET_STR, ST(reason)},
};
#undef ST
static const rowset_table statuses = {"router.delivery_pending", status_cols,
                                      ROWSET_COUNT(status_cols), NULL};

/* router.merges */

static void mg_merged_get(rowset_put *p, const void *row, const void *ctx)
{
    const model *m = ctx;
    rowset_put_str(p, m->cust[((const m_merge *)row)->merged].id);
}

static void mg_survivor_get(rowset_put *p, const void *row, const void *ctx)
{
    const model *m = ctx;
    rowset_put_str(p, m->cust[((const m_merge *)row)->survivor].id);
}

#define MG(f) ROWSET_AT(m_merge, f)
static const struct rowset_col merge_cols[] = {
    {"merged_id", "uuid", ROWSET_FN, .get = mg_merged_get},
    {"survivor_id", "uuid", ROWSET_FN, .get = mg_survivor_get},
    {"contact_event_id", "uuid", ROWSET_STR, MG(contact_event_id)},
    {"event_id", "uuid", ROWSET_ID, MG(event_id)},
    {"at", "timestamptz", ROWSET_TIME, MG(at), .none = MODEL_NONE},
    {"actor", "text", ROWSET_STR, MG(actor)},
    {"reason", "text", ROWSET_STR, MG(reason)},
};
#undef MG
static const rowset_table merges = {"router.merges", merge_cols, ROWSET_COUNT(merge_cols), NULL};

/* router.imports */

static void im_customer_get(rowset_put *p, const void *row, const void *ctx)
{
    const model *m = ctx;
    rowset_put_str(p, m->cust[((const m_import *)row)->cust].id);
}

#define IM(f) ROWSET_AT(m_import, f)
static const struct rowset_col import_cols[] = {
    {"event_id", "uuid", ROWSET_STR, IM(event_id)},
    {"customer_id", "uuid", ROWSET_FN, .get = im_customer_get},
};
#undef IM
static const rowset_table imports = {"router.imports", import_cols, ROWSET_COUNT(import_cols),
                                     NULL};

/* The moves of a merge: a customer's rows to its final survivor ... */
static void mv_cust_merged_get(rowset_put *p, const void *row, const void *ctx)
{
    rowset_put_str(p, ((const model *)ctx)->cust[((const m_merge *)row)->merged].id);
}

static void mv_cust_survivor_get(rowset_put *p, const void *row, const void *ctx)
{
    rowset_put_str(p, cust_id(ctx, ((const m_merge *)row)->survivor));
}

static const struct rowset_col customer_move_cols[] = {
    {"merged", "uuid", ROWSET_FN, .get = mv_cust_merged_get},
    {"survivor", "uuid", ROWSET_FN, .get = mv_cust_survivor_get},
};
static const rowset_table customer_moves = {"router.customer_moves", customer_move_cols,
                                            ROWSET_COUNT(customer_move_cols), NULL};

/* ... and a ticket's to the one it joined. */
static void mv_tick_merged_get(rowset_put *p, const void *row, const void *ctx)
{
    rowset_put_str(p, ((const model *)ctx)->tick[((const m_ticket_merge *)row)->from].id);
}

static void mv_tick_survivor_get(rowset_put *p, const void *row, const void *ctx)
{
    rowset_put_str(p, tick_id(ctx, ((const m_ticket_merge *)row)->into));
}

static const struct rowset_col ticket_move_cols[] = {
    {"merged", "uuid", ROWSET_FN, .get = mv_tick_merged_get},
    {"survivor", "uuid", ROWSET_FN, .get = mv_tick_survivor_get},
};
static const rowset_table ticket_moves = {"router.ticket_moves", ticket_move_cols,
                                          ROWSET_COUNT(ticket_move_cols), NULL};

/* router.ticket_merges: who joined whom, as it was then (an unmerge
 * undoes some: unmerge.h). */
static void tm_target_get(rowset_put *p, const void *row, const void *ctx)
{
    rowset_put_str(p, ((const model *)ctx)->tick[((const m_ticket_merge *)row)->into].id);
}

#define TM(f) ROWSET_AT(m_ticket_merge, f)
static const struct rowset_col ticket_merge_cols[] = {
    {"source_id", "uuid", ROWSET_FN, .get = mv_tick_merged_get},
    {"target_id", "uuid", ROWSET_FN, .get = tm_target_get},
    {"cause_id", "uuid", ROWSET_STR, TM(cause_id)},
    {"actor", "text", ROWSET_STR, TM(actor)},
    {"reason", "text", ROWSET_STR, TM(reason)},
    {"at", "timestamptz", ROWSET_TIME, TM(at), .none = MODEL_NONE},
};
#undef TM
static const rowset_table ticket_merges = {"router.ticket_merges", ticket_merge_cols,
                                           ROWSET_COUNT(ticket_merge_cols), NULL};

/* --- reading rows ----------------------------------------------------------- */

/* Adds the tickets of r not yet in the model. -1 when a row does not read. */
static int add_tickets(model *m, const PGresult *r)
{
    rowset_reader rd;
    if (rowset_reader_init(&rd, &tickets, r) != 0)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        if (model_ticket(m, db_value(r, i, "id")) >= 0)
            continue;
        m_ticket t = {.cust = -1, .merged_into = -1};
        if (rowset_read(&rd, i, &t, m) != 0)
            return -1;
        model_add_ticket(m, &t);
    }
    return 0;
}

/* Links merged_into once every ticket (or customer) of r is in. */
static void link_ticket_merges(model *m, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        const char *into = db_value(r, i, "merged_into");
        int t = model_ticket(m, db_value(r, i, "id"));
        if (into && t >= 0)
            m->tick[t].merged_into = model_ticket(m, into);
    }
}

static int add_customers(model *m, const PGresult *r)
{
    rowset_reader rd;
    if (rowset_reader_init(&rd, &customers, r) != 0)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        if (model_customer(m, db_value(r, i, "id")) >= 0)
            continue;
        m_customer c = {.merged_into = -1};
        if (rowset_read(&rd, i, &c, m) != 0)
            return -1;
        model_add_customer(m, &c);
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *into = db_value(r, i, "merged_into");
        int c = model_customer(m, db_value(r, i, "id"));
        if (into && c >= 0)
            m->cust[c].merged_into = model_customer(m, into);
    }
    return 0;
}

static int add_agents(model *m, const PGresult *r)
{
    rowset_reader rd;
    if (rowset_reader_init(&rd, &agents, r) != 0)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        m_agent a = {0};
        if (rowset_read(&rd, i, &a, m) != 0)
            return -1;
        model_add_agent(m, &a);
    }
    return 0;
}

static int add_teams(model *m, const PGresult *r)
{
    rowset_reader rd;
    if (rowset_reader_init(&rd, &teams, r) != 0)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        m_team t = {0};
        if (rowset_read(&rd, i, &t, m) != 0)
            return -1;
        model_add_team(m, &t);
    }
    return 0;
}

/* Every handle asked for is known after the prefetch: owned, or nobody's. */
static int add_identities(model *m, const struct store_keys *k, const PGresult *r)
{
    for (size_t i = 0; i < k->nidents; i++)
        model_identity_set(m, k->kinds[i], k->values[i], MODEL_ABSENT);
    rowset_reader rd;
    if (r && rowset_reader_init(&rd, &identities, r) != 0)
        return -1;
    for (int i = 0; r && i < PQntuples(r); i++) {
        m_identity x = {0};
        if (rowset_read(&rd, i, &x, m) != 0)
            return -1;
        if (x.cust >= 0) {
            model_identity_set(m, x.kind, x.value, x.cust);
            model_identity_set_origin(m, x.kind, x.value, x.origin);
        }
    }
    return 0;
}

/* The pairs an unmerge keeps apart, by their survivors' ids (both in the
 * model: the reach loaded them). */
static int add_apart(model *m, const PGresult *r)
{
    for (int i = 0; r && i < PQntuples(r); i++) {
        int a = model_customer(m, db_value(r, i, "a")), b = model_customer(m, db_value(r, i, "b"));
        if (a < 0 || b < 0 || a == b)
            continue;
        arena_grow(&m->a, (void **)&m->apart, &m->apartcap, m->napart + 1, sizeof *m->apart);
        m->apart[m->napart][0] = a;
        m->apart[m->napart++][1] = b;
    }
    return 0;
}

static int add_refs(model *m, const PGresult *r)
{
    rowset_reader rd;
    if (r && rowset_reader_init(&rd, &messages, r) != 0)
        return -1;
    for (int i = 0; r && i < PQntuples(r); i++) {
        m_message x = {0};
        if (rowset_read(&rd, i, &x, m) != 0)
            return -1;
        if (x.ticket >= 0)
            model_add_ref(m, x.external_id, x.channel, x.ticket, x.at, x.stream, x.seq);
    }
    return 0;
}

/* What a batch reaches from its keys (external ids a contact threads to,
 * ticket ids, handles, customer ids): the tickets named (and those they
 * were merged into), and the customers named, owning a handle or a named
 * ticket (and their survivors). The first round trip of the prefetch
 * finds the handles' owners (identities_sql) and the tickets named
 * (NAMED_SQL: $1 external ids, $2 ticket ids); the second reads the rows
 * they reach by arrays of ids bound as values, so that each plan is made
 * for the array's size (a scan, if the planner ever picks one, hashes the
 * array rather than comparing each row with every key; an id may be in
 * an array more than once, and the survivors are read by a subquery).
 *
 * Every look-up is by key, written so that the plan is an index probe
 * whatever the statistics say ("= ANY(array)", "LATERAL ... OFFSET 0"):
 * after a rebuild or a burst the tables outgrow their statistics, and a
 * join the planner costs against a "small" table becomes a scan of every
 * row, in every batch. */
#define NAMED_SQL                                                                                  \
    "SELECT x.id, x.customer_id, x.merged_into FROM router.tickets x"                              \
    " WHERE x.id = ANY($2::uuid[] || ARRAY(SELECT m.ticket_id FROM router.messages m"              \
    "                                     WHERE m.external_id = ANY($1::text[])))"

/* The survivors of the customers of $1 (those merged away), read as
 * "= ANY(ARRAY" SURVIVORS ")" like MERGED: an array is probed by key
 * whatever the statistics guess, where a semi-join ("IN") is costed by
 * that guess. There are few. */
#define SURVIVORS                                                                                  \
    "(SELECT x.merged_into FROM router.customers x"                                                \
    "  WHERE x.id = ANY($1::uuid[]) AND x.merged_into IS NOT NULL)"

/* The wide tables' batches (and the handles looked up) go as arrays of
 * composite types of the router's own (rowset_type_sql: a third or less of
 * json_to_recordset's cost on the server), whose fields are the described
 * columns, written into the tables by name: a migration that adds, drops
 * or reorders a table's columns under a connected router cannot move a
 * value. The types are temporary, created once a session: again after a
 * new connection, and after a rollback (it may have taken their creation
 * with it), which db_session tells. */
static const rowset_table *const composites[] = {&customers, &identities, &tickets, &messages};
static struct {
    const db *db;
    uint64_t session; /* db_session when they were created; 0: never */
} types;

static bool store_types_current(const model *m)
{
    return types.session && types.db == m->db && types.session == db_session(m->db);
}

/* Creates the types when the session may not hold them (in the caller's
 * transaction, if any: its rollback changes db_session). 0, or -1
 * (logged, once). */
static int store_types(model *m)
{
    if (store_types_current(m))
        return 0;
    types.session = 0;
    buf sql = BUF_INIT;
    buf_puts(&sql, "DO $$ BEGIN ");
    for (size_t i = 0; i < ROWSET_COUNT(composites); i++)
        rowset_type_sql(composites[i], &sql);
    buf_puts(&sql, " END $$");
    if (sql.failed)
        log_error("router: out of memory creating the types of its batches");
    /* db_command logs its own failure. */
    int rc = sql.failed ? -1 : db_command(m->db, buf_str(&sql), 0, NULL);
    buf_release(&sql);
    if (rc != 0)
        return -1;
    types.db = m->db;
    types.session = db_session(m->db);
    return 0;
}

static rowset_stmt refs_sql =
    ROWSET_STMT(messages, "SELECT {@select m external_id,channel,ticket_id,at,stream,seq}"
                          " FROM router.messages m WHERE m.external_id = ANY($1::text[])"
                          " ORDER BY m.at, m.stream, m.seq");

static rowset_stmt identities_sql =
    ROWSET_STMT(identities, "SELECT {@select i kind,value,customer_id,origin_customer_id}"
                            " FROM {@unnest $1 k}, LATERAL (SELECT i.kind, i.value,"
                            " i.customer_id, i.origin_customer_id FROM router.identities i"
                            " WHERE i.kind = k.kind AND i.value = k.value OFFSET 0) i");

/* The customers of $1, and those they were merged into. */
static rowset_stmt customers_sql =
    ROWSET_STMT(customers, "SELECT {@select c} FROM router.customers c WHERE c.id = ANY($1::uuid[])"
                           " UNION ALL SELECT {@select c} FROM router.customers c"
                           " WHERE c.id = ANY(ARRAY" SURVIVORS ")");

/* The tickets named and those they were merged into ($2), and the
 * not closed tickets of the customers reached ($1) and of their
 * survivors: those a contact may join or reopen, and a merge moves. */
static rowset_stmt reach_tickets_sql =
    ROWSET_STMT(tickets, "SELECT {@select t} FROM router.tickets t WHERE t.id = ANY($2::uuid[])"
                         " UNION ALL SELECT {@select t} FROM router.tickets t"
                         " WHERE t.customer_id = ANY($1::uuid[]) AND t.status <> 'closed'"
                         " UNION ALL SELECT {@select t} FROM router.tickets t"
                         " WHERE t.customer_id = ANY(ARRAY" SURVIVORS ") AND t.status <> 'closed'");

/* Customers an unmerge keeps apart (router.unmerges, unmerge.h) among
 * those reached ($1 and their survivors), by their survivors: the reach's
 * customers and the ones merged into them. Nothing is read while no
 * unmerge was ever made (a one-time filter). */
static rowset_stmt apart_sql = ROWSET_STMT(
    customers, "WITH c AS (SELECT $1::uuid[] || ARRAY" SURVIVORS " AS ids),"
               " fam AS (SELECT x.id, coalesce(x.merged_into, x.id) AS fin FROM router.customers x"
               "  WHERE (SELECT EXISTS (SELECT 1 FROM router.unmerges))"
               "    AND (x.id = ANY((SELECT ids FROM c)::uuid[])"
               "         OR x.merged_into = ANY((SELECT ids FROM c)::uuid[])))"
               " SELECT DISTINCT a.fin AS a, b.fin AS b FROM router.unmerges u"
               " JOIN fam a ON a.id = u.merged_id JOIN fam b ON b.id = u.survivor_id"
               " WHERE a.fin <> b.fin");

static rowset_stmt agents_sql =
    ROWSET_STMT(agents, "SELECT {@select a} FROM router.agents a ORDER BY id");

static rowset_stmt teams_sql =
    ROWSET_STMT(teams, "SELECT {@select t} FROM router.teams t ORDER BY id");

/* What replies are addressed with ($1 the tickets they go on, and the
 * tickets those were merged into): the conversations' inbound messages
 * and email thread ($2 the email channel's name), and the customers'
 * handles. */
#define THREADS                                                                                    \
    "WITH t AS (SELECT x.id FROM router.tickets x WHERE x.id = ANY($1::uuid[])"                    \
    " UNION SELECT x.merged_into FROM router.tickets x"                                            \
    "  WHERE x.id = ANY($1::uuid[]) AND x.merged_into IS NOT NULL)"
#define HISTORY_COLS "event_id,ticket_id,channel,direction,external_id,at,stream,seq"

static rowset_stmt history_sql = ROWSET_STMT(
    messages, THREADS " SELECT {@select m " HISTORY_COLS "} FROM router.messages m"
                      " WHERE m.ticket_id = ANY(ARRAY(SELECT id FROM t))"
                      " AND (m.direction = 'in' OR (m.channel = $2 AND m.direction = 'out'"
                      " AND m.external_id IS NOT NULL))");

static rowset_stmt thread_identities_sql =
    ROWSET_STMT(identities, THREADS " SELECT {@select i} FROM router.identities i"
                                    " WHERE i.customer_id = ANY(ARRAY(SELECT x.customer_id"
                                    " FROM router.tickets x WHERE x.id IN (SELECT id FROM t)))");

static rowset_stmt customer_identities_sql =
    ROWSET_STMT(identities, "SELECT {@select i} FROM router.identities i"
                            " WHERE i.customer_id = ANY($1::uuid[])");

static int add_history(model *m, const PGresult *r)
{
    rowset_reader rd;
    if (r && rowset_reader_init(&rd, &messages, r) != 0)
        return -1;
    for (int i = 0; r && i < PQntuples(r); i++) {
        m_message x = {0};
        if (rowset_read(&rd, i, &x, m) != 0)
            return -1;
        if (x.ticket < 0)
            continue;
        arena_grow(&m->a, (void **)&m->hist, &m->histcap, m->nhist + 1, sizeof *m->hist);
        m->hist[m->nhist++] = x;
    }
    return 0;
}

static int add_customer_identities(model *m, const PGresult *r)
{
    rowset_reader rd;
    if (r && rowset_reader_init(&rd, &identities, r) != 0)
        return -1;
    for (int i = 0; r && i < PQntuples(r); i++) {
        m_identity x = {0};
        if (rowset_read(&rd, i, &x, m) != 0)
            return -1;
        if (x.cust < 0)
            continue;
        arena_grow(&m->a, (void **)&m->cident, &m->cidentcap, m->ncident + 1, sizeof *m->cident);
        m->cident[m->ncident++] = x;
    }
    return 0;
}

/* The threads' tickets (and what they were merged into) and their
 * customers have their conversations and handles in the model now. */
static void mark_threads(model *m, const struct store_keys *k)
{
    for (size_t i = 0; i < k->nthreads; i++) {
        int t = model_ticket(m, k->threads[i]);
        for (int hops = 0; t >= 0 && hops < 2; hops++) {
            m->tick[t].hist_loaded = true;
            if (m->tick[t].cust >= 0)
                m->cust[m->tick[t].cust].idents_loaded = true;
            t = m->tick[t].merged_into;
        }
    }
}

int store_conversation(model *m, int t)
{
    int cu = model_customer_final(m, m->tick[t].cust);
    const char **tids = calloc(m->ntick + 1, sizeof *tids),
               **cids = calloc(m->ncust + 1, sizeof *cids);
    size_t nt = 0, nc = 0;
    int rc = -1;
    if (!tids || !cids)
        goto out;
    for (size_t i = 0; i < m->ntick; i++)
        if (!m->tick[i].hist_loaded && !m->tick[i].is_new && model_ticket_final(m, (int)i) == t)
            tids[nt++] = m->tick[i].id;
    for (size_t i = 0; cu >= 0 && i < m->ncust; i++)
        if (!m->cust[i].idents_loaded && !m->cust[i].is_new &&
            model_customer_final(m, (int)i) == cu)
            cids[nc++] = m->cust[i].id;
    rc = 0;
    if (nt) {
        buf ids = BUF_INIT;
        rowset_keys(&ids, tids, nt);
        const char *params[] = {buf_str(&ids),
                                event_channel_name(CAREBUS__V1__CHANNEL__CHANNEL_EMAIL)};
        const char *sql = rowset_stmt_sql(&history_sql);
        PGresult *r = sql && !ids.failed ? db_exec(m->db, sql, 2, params) : NULL;
        rc = r && add_history(m, r) == 0 ? 0 : -1;
        PQclear(r);
        buf_release(&ids);
    }
    if (rc == 0 && nc) {
        buf ids = BUF_INIT;
        rowset_keys(&ids, cids, nc);
        const char *params[] = {buf_str(&ids)};
        const char *sql = rowset_stmt_sql(&customer_identities_sql);
        PGresult *r = sql && !ids.failed ? db_exec(m->db, sql, 1, params) : NULL;
        rc = r && add_customer_identities(m, r) == 0 ? 0 : -1;
        PQclear(r);
        buf_release(&ids);
    }
    for (size_t i = 0; rc == 0 && i < m->ntick; i++)
        if (model_ticket_final(m, (int)i) == t)
            m->tick[i].hist_loaded = true;
    for (size_t i = 0; rc == 0 && cu >= 0 && i < m->ncust; i++)
        if (model_customer_final(m, (int)i) == cu)
            m->cust[i].idents_loaded = true;
out:
    free(tids);
    free(cids);
    return rc;
}

/* The handles as rows of (kind, value). */
static const char *handle_rows(const struct store_keys *k, rowset *w)
{
    rowset_init_composite(w, &identities, NULL);
    rowset_only(w, "kind,value");
    for (size_t i = 0; i < k->nidents; i++) {
        m_identity x = {.kind = k->kinds[i], .value = k->values[i]};
        rowset_add(w, &x);
    }
    return rowset_json(w);
}

/* The ids the first round trip reached, as arrays for the second: the
 * customers (the handles' owners, those named and the named tickets') and
 * the tickets (named, and those they were merged into). -1 on no memory. */
static int reached(const struct store_keys *k, const PGresult *idents, const PGresult *named,
                   buf *cust, buf *tick)
{
    int ni = idents ? PQntuples(idents) : 0, nn = PQntuples(named);
    const char **c = calloc((size_t)ni + k->ncustomers + (size_t)nn + 1, sizeof *c);
    const char **t = calloc(2 * (size_t)nn + 1, sizeof *t);
    size_t nc = 0, nt = 0;
    if (c && t) {
        for (int i = 0; i < ni; i++)
            if ((c[nc] = db_value(idents, i, "customer_id")))
                nc++;
        for (size_t i = 0; i < k->ncustomers; i++)
            c[nc++] = k->customers[i];
        for (int i = 0; i < nn; i++) {
            if ((c[nc] = db_value(named, i, "customer_id")))
                nc++;
            t[nt++] = db_value(named, i, "id");
            if ((t[nt] = db_value(named, i, "merged_into")))
                nt++;
        }
        rowset_keys(cust, c, nc);
        rowset_keys(tick, t, nt);
    }
    int rc = c && t && !cust->failed && !tick->failed ? 0 : -1;
    free(c);
    free(t);
    return rc;
}

/* Two round trips (and one before them in a new session: store_types):
 * the handles' owners and the tickets named, with what
 * needs no reach; then the rows they reach, by arrays of ids. */
int store_prefetch(model *m, const struct store_keys *k)
{
    if (store_types(m) != 0)
        return -1;
    int rc = -1;
    buf refs = BUF_INIT, tids = BUF_INIT, threads = BUF_INIT, cust = BUF_INIT, tick = BUF_INIT;
    rowset idents;
    rowset_keys(&refs, k->refs, k->nrefs);
    rowset_keys(&tids, k->tickets, k->ntickets);
    rowset_keys(&threads, k->threads, k->nthreads);
    const char *keys[] = {buf_str(&refs), buf_str(&tids), handle_rows(k, &idents)};
    const char *thread[] = {buf_str(&threads),
                            event_channel_name(CAREBUS__V1__CHANNEL__CHANNEL_EMAIL)};
    const char *sql[] = {rowset_stmt_sql(&refs_sql),
                         rowset_stmt_sql(&identities_sql),
                         NAMED_SQL,
                         rowset_stmt_sql(&agents_sql),
                         rowset_stmt_sql(&history_sql),
                         rowset_stmt_sql(&thread_identities_sql),
                         rowset_stmt_sql(&teams_sql),
                         rowset_stmt_sql(&customers_sql),
                         rowset_stmt_sql(&reach_tickets_sql),
                         rowset_stmt_sql(&apart_sql)};
    bool built = !refs.failed && !tids.failed && !threads.failed && keys[2];
    for (size_t i = 0; i < sizeof sql / sizeof *sql; i++)
        built = built && sql[i];
    pgpipe p, q;
    if (!built || pipe_begin(&p, m->db) != 0)
        goto out;
    int q_refs = k->nrefs ? pipe_send(&p, "threaded messages", sql[0], 1, keys) : -2;
    int q_idents = k->nidents ? pipe_send(&p, "handles", sql[1], 1, keys + 2) : -2;
    int q_named = pipe_send(&p, "tickets named", sql[2], 2, keys);
    int q_agents = pipe_send(&p, "agents", sql[3], 0, NULL);
    int q_hist = k->nthreads ? pipe_send(&p, "conversations", sql[4], 2, thread) : -2;
    int q_cident = k->nthreads ? pipe_send(&p, "customers' handles", sql[5], 1, thread) : -2;
    int q_teams = pipe_send(&p, "teams", sql[6], 0, NULL);
    bool sent = q_refs != -1 && q_idents != -1 && q_named >= 0 && q_agents >= 0 && q_hist != -1 &&
                q_cident != -1 && q_teams >= 0;
    /* pipe_run leaves pipeline mode whatever happened. */
    if (pipe_run(&p) != 0 || !sent) {
        pipe_release(&p);
        goto out;
    }
    if (reached(k, pipe_result(&p, q_idents), pipe_result(&p, q_named), &cust, &tick) != 0 ||
        pipe_begin(&q, m->db) != 0) {
        pipe_release(&p);
        goto out;
    }
    const char *ids[] = {buf_str(&cust), buf_str(&tick)};
    int q_cust = pipe_send(&q, "customers", sql[7], 1, ids);
    int q_tick = pipe_send(&q, "tickets", sql[8], 2, ids);
    /* Only a contact (or an import) merges customers by their handles. */
    int q_apart = k->nidents ? pipe_send(&q, "customers kept apart", sql[9], 1, ids) : -2;
    sent = q_cust >= 0 && q_tick >= 0 && q_apart != -1;
    bool ran = pipe_run(&q) == 0 && sent;
    PGresult *r = ran ? pipe_result(&q, q_tick) : NULL;
    ran = ran && add_customers(m, pipe_result(&q, q_cust)) == 0 && add_tickets(m, r) == 0;
    if (ran) {
        link_ticket_merges(m, r);
        for (size_t t = 0; t < m->ntick; t++) {
            int c = model_customer(m, m->tick[t].customer_id);
            if (c >= 0)
                model_link_loaded(m, c, (int)t);
        }
        ran = add_identities(m, k, pipe_result(&p, q_idents)) == 0 &&
              add_refs(m, pipe_result(&p, q_refs)) == 0 &&
              add_agents(m, pipe_result(&p, q_agents)) == 0 &&
              add_history(m, pipe_result(&p, q_hist)) == 0 &&
              add_customer_identities(m, pipe_result(&p, q_cident)) == 0 &&
              add_teams(m, pipe_result(&p, q_teams)) == 0 &&
              add_apart(m, pipe_result(&q, q_apart)) == 0;
    }
    if (ran)
        mark_threads(m, k);
    pipe_release(&q);
    pipe_release(&p);
    rc = ran ? 0 : -1;
out:
    buf_release(&refs);
    buf_release(&tids);
    buf_release(&threads);
    buf_release(&cust);
    buf_release(&tick);
    rowset_release(&idents);
    return rc;
}

/* The next page of a team's queue, in queue order, after the watermark. */
static rowset_stmt queue_page_sql = ROWSET_STMT(
    tickets,
    "SELECT {@select t} FROM router.tickets t"
    " WHERE t.team = $1 AND t.queued_at IS NOT NULL AND ($2::boolean OR t.priority_rank < $3"
    "   OR (t.priority_rank = $3 AND (t.queued_at, t.id) > (to_timestamp($4::bigint / 1e6),"
    "       $5::uuid)))"
    " ORDER BY t.priority_rank DESC, t.queued_at, t.id LIMIT $6");

int store_queue_page(model *m, m_queue *q, int limit)
{
    char rank[16], queued[24], lim[16];
    snprintf(rank, sizeof rank, "%d", q->wm_rank);
    snprintf(queued, sizeof queued, "%" PRId64, q->loaded ? q->wm_queued : 0);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {q->team,
                            q->loaded ? "false" : "true",
                            rank,
                            queued,
                            q->loaded ? q->wm_id : "00000000-0000-0000-0000-000000000000",
                            lim};
    const char *sql = rowset_stmt_sql(&queue_page_sql);
    PGresult *r = sql ? db_exec(m->db, sql, 6, params) : NULL;
    if (!r)
        return -1;
    size_t before = m->ntick;
    if (add_tickets(m, r) != 0) {
        PQclear(r);
        return -1;
    }
    /* Their customers (for the events' correlation ids). */
    const char **cids = calloc(m->ntick - before + 1, sizeof *cids);
    size_t ncids = 0;
    for (size_t t = before; cids && t < m->ntick; t++)
        if (model_customer(m, m->tick[t].customer_id) < 0)
            cids[ncids++] = m->tick[t].customer_id;
    if (!cids) {
        PQclear(r);
        return -1;
    }
    if (ncids) {
        buf ids = BUF_INIT;
        rowset_keys(&ids, cids, ncids);
        const char *params1[] = {buf_str(&ids)};
        const char *csql = rowset_stmt_sql(&customers_sql);
        PGresult *cr = csql && !ids.failed ? db_exec(m->db, csql, 1, params1) : NULL;
        buf_release(&ids);
        if (!cr || add_customers(m, cr) != 0) {
            PQclear(cr);
            PQclear(r);
            free(cids);
            return -1;
        }
        PQclear(cr);
    }
    free(cids);
    for (size_t t = before; t < m->ntick; t++) {
        int c = model_customer(m, m->tick[t].customer_id);
        if (c >= 0)
            model_link_loaded(m, c, (int)t);
    }
    int n = PQntuples(r);
    if (n > 0) {
        const char *qa = db_value(r, n - 1, "queued_at");
        q->wm_rank = (int)strtol(db_value(r, n - 1, "priority_rank"), NULL, 10);
        q->wm_queued = qa ? strtoll(qa, NULL, 10) : MODEL_NONE;
        snprintf(q->wm_id, sizeof q->wm_id, "%s", db_value(r, n - 1, "id"));
    }
    q->loaded = true;
    q->exhausted = n < limit;
    PQclear(r);
    return 0;
}

/* --- writing ------------------------------------------------------------------ */

/* Queues stmt with the batch in w as $1 and, when keys is not NULL, that
 * array literal as $2 (nothing when the batch is empty), and empties w for
 * the next table. */
static int write_rows_keyed(pgpipe *p, rowset *w, const char *what, rowset_stmt *stmt,
                            const char *keys)
{
    int rc = 0;
    if (rowset_count(w)) {
        const char *params[] = {rowset_json(w), keys};
        const char *sql = rowset_stmt_sql(stmt);
        rc = params[0] && sql && pipe_send(p, what, sql, keys ? 2 : 1, params) >= 0 ? 0 : -1;
    }
    rowset_release(w);
    return rc;
}

static int write_rows(pgpipe *p, rowset *w, const char *what, rowset_stmt *stmt)
{
    return write_rows_keyed(p, w, what, stmt, NULL);
}

static rowset_stmt w_customers =
    ROWSET_STMT(customers, "INSERT INTO router.customers AS c ({@cols}) SELECT {@values x}"
                           " FROM {@unnest $1 x} ON CONFLICT (id) DO UPDATE SET"
                           " {@set excluded name,segment,status,merged_into,merged_at,updated_at}");

static rowset_stmt w_attributes =
    ROWSET_STMT(attributes, "UPDATE router.customers c SET attributes = c.attributes || x.patch"
                            " FROM {@rows $1 x} WHERE c.id = x.id");

static rowset_stmt w_identities = ROWSET_STMT(
    identities, "INSERT INTO router.identities ({@cols}) SELECT {@values x}"
                " FROM {@unnest $1 x}"
                " ON CONFLICT (kind, value) DO UPDATE SET customer_id = excluded.customer_id");

/* A merged customer's rows that are not in the model move to its survivor
 * (those in the model are written with their final customer anyway); its
 * own merged-away customers point at the survivor too (chains stay one
 * hop), and the survivor gains the attributes it lacked. */
/* The merged customers or tickets of a moves statement, as an array (an
 * index probe whatever the statistics, see NAMED_SQL). */
#define MERGED "ANY(ARRAY(SELECT merged FROM p))"

static rowset_stmt w_customer_moves = ROWSET_STMT(
    customer_moves,
    "WITH p AS (SELECT * FROM {@rows $1 x}),"
    " i AS (UPDATE router.identities i SET customer_id = p.survivor FROM p"
    "       WHERE i.customer_id = p.merged AND i.customer_id = " MERGED " RETURNING 1),"
    " t AS (UPDATE router.tickets t SET customer_id = p.survivor FROM p"
    "       WHERE t.customer_id = p.merged AND t.customer_id = " MERGED " RETURNING 1),"
    " m AS (UPDATE router.messages m SET customer_id = p.survivor"
    "       FROM p JOIN router.tickets x ON x.customer_id = p.merged"
    "       WHERE m.ticket_id = x.id AND x.customer_id = " MERGED " RETURNING 1),"
    " n AS (UPDATE router.notes n SET customer_id = p.survivor"
    "       FROM p JOIN router.tickets x ON x.customer_id = p.merged"
    "       WHERE n.ticket_id = x.id AND x.customer_id = " MERGED " RETURNING 1),"
    " c AS (UPDATE router.customers c SET merged_into = p.survivor FROM p"
    "       WHERE c.merged_into = p.merged AND c.merged_into = " MERGED " AND c.id <> p.survivor"
    "       RETURNING 1),"
    " a AS (UPDATE router.customers s SET attributes = g.attributes || s.attributes"
    "       FROM (SELECT p.survivor, jsonb_object_agg(e.key, e.value) AS attributes"
    "               FROM p JOIN router.customers mc ON mc.id = p.merged,"
    "                    jsonb_each(mc.attributes) e GROUP BY p.survivor) g"
    "       WHERE s.id = g.survivor RETURNING 1)"
    " SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM t) + (SELECT count(*) FROM m)"
    " + (SELECT count(*) FROM n) + (SELECT count(*) FROM c) + (SELECT count(*) FROM a)");

/* The rows an update touches, as an index probe whatever the statistics
 * (see NAMED_SQL; "= ANY($2)" bare would be planned for the array's size
 * against the statistics: a scan of the table after a rebuild): their ids,
 * also bound as an array ($2), which costs a fraction of reading them out
 * of the rows a second time (a 5,000-ticket update: 275 -> 189 ms). */
#define BY_KEY " AND t.id = ANY(ARRAY(SELECT unnest($2::uuid[])))"

static rowset_stmt w_tickets_new =
    ROWSET_STMT(tickets, "INSERT INTO router.tickets ({@cols}, priority) SELECT {@values x},"
                         " router.priority_name(x.priority_rank) FROM {@unnest $1 x}");

/* The mutable columns: the row as the model holds it. Columns whose value
 * does not change leave the update HOT when no indexed one changes. */
#define TICKET_MUTABLE                                                                             \
    "customer_id,status,category,category_rule,category_phrase,priority_rank,priority_reasons,"    \
    "team,assignee,contacts,urgent_word,escalated_rank,reopened,merged_into,updated_at,"           \
    "assigned_at,queued_at,solved_at,closed_at,escalated_at,tags,priority_override,"               \
    "category_override,category_rules"

static rowset_stmt w_tickets_changed =
    ROWSET_STMT(tickets, "UPDATE router.tickets t SET {@set x " TICKET_MUTABLE "},"
                         " priority = router.priority_name(x.priority_rank)"
                         " FROM {@unnest $1 x} WHERE t.id = x.id" BY_KEY);

/* A contact joined: its count and time of activity, nothing else. */
#define TICKET_JOINED "id,contacts,updated_at"
static rowset_stmt w_tickets_joined =
    ROWSET_STMT(tickets, "UPDATE router.tickets t SET {@set x contacts,updated_at}"
                         " FROM {@unnest $1 x} WHERE t.id = x.id" BY_KEY);

/* A merged ticket's messages and notes move to the ticket it joined
 * (remembering the ticket they were filed on), and tickets merged into it
 * follow. */
static rowset_stmt w_ticket_moves = ROWSET_STMT(
    ticket_moves,
    "WITH p AS (SELECT * FROM {@rows $1 x}),"
    " m AS (UPDATE router.messages m SET ticket_id = p.survivor,"
    "       home_ticket_id = coalesce(m.home_ticket_id, m.ticket_id) FROM p"
    "       WHERE m.ticket_id = p.merged AND m.ticket_id = " MERGED " RETURNING 1),"
    " n AS (UPDATE router.notes n SET ticket_id = p.survivor,"
    "       home_ticket_id = coalesce(n.home_ticket_id, n.ticket_id) FROM p"
    "       WHERE n.ticket_id = p.merged AND n.ticket_id = " MERGED " RETURNING 1),"
    " t AS (UPDATE router.tickets t SET merged_into = p.survivor FROM p"
    "       WHERE t.merged_into = p.merged AND t.merged_into = " MERGED " AND t.id <> p.survivor"
    "       RETURNING 1)"
    " SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM n) + (SELECT count(*) FROM t)");

static rowset_stmt w_ticket_merges =
    ROWSET_STMT(ticket_merges, "INSERT INTO router.ticket_merges ({@cols})"
                               " SELECT {@values x} FROM {@rows $1 x} ON CONFLICT DO NOTHING");

static rowset_stmt w_messages =
    ROWSET_STMT(messages, "INSERT INTO router.messages ({@cols}) SELECT {@values x}"
                          " FROM {@unnest $1 x} ON CONFLICT DO NOTHING");

static rowset_stmt w_statuses =
    ROWSET_STMT(statuses, "INSERT INTO router.delivery_pending ({@cols})"
                          " SELECT {@values x} FROM {@rows $1 x}"
                          " ON CONFLICT DO NOTHING");

static rowset_stmt w_notes = ROWSET_STMT(notes, "INSERT INTO router.notes ({@cols})"
                                                " SELECT {@values x} FROM {@rows $1 x}"
                                                " ON CONFLICT DO NOTHING");

static rowset_stmt w_merges = ROWSET_STMT(merges, "INSERT INTO router.merges ({@cols})"
                                                  " SELECT {@values x} FROM {@rows $1 x}"
                                                  " ON CONFLICT DO NOTHING");

static rowset_stmt w_imports = ROWSET_STMT(imports, "INSERT INTO router.imports ({@cols})"
                                                    " SELECT {@values x} FROM {@rows $1 x}"
                                                    " ON CONFLICT DO NOTHING");

static rowset_stmt w_agents = ROWSET_STMT(
    agents, "INSERT INTO router.agents AS a ({@cols}) SELECT {@values x} FROM {@rows $1 x}"
            " ON CONFLICT (id) DO UPDATE SET"
            " {@set excluded name,presence,capacity,teams,leads,load,last_active_at,updated_at,"
            "email,languages,role,active,password_hash,saved_at,offline_since,offline_event_id}");

static rowset_stmt w_teams = ROWSET_STMT(
    teams, "INSERT INTO router.teams AS t ({@cols}) SELECT {@values x} FROM {@rows $1 x}"
           " ON CONFLICT (id) DO UPDATE SET"
           " {@set excluded name,lead_agent_id,calendar,sla_policy,active,saved_at,created_at,"
           "updated_at}");

/* A canned reply deleted in the batch goes first (also one saved again
 * afterwards, which then starts afresh: the batch's cut does not show). */
static rowset_stmt w_canned_deleted =
    ROWSET_STMT(canned, "DELETE FROM router.canned_replies c USING {@rows $1 x id}"
                        " WHERE c.id = x.id");

static rowset_stmt w_canned_saved =
    ROWSET_STMT(canned, "INSERT INTO router.canned_replies AS c ({@cols}) SELECT {@values x}"
                        " FROM {@rows $1 x} ON CONFLICT (id) DO UPDATE SET"
                        " {@set excluded title,text,language,team,shortcut,updated_at}");

/* Applies the statuses that the batch's messages and statuses make
 * applicable (router.delivery_apply), after both are written. */
static int delivery_apply(model *m, pgpipe *p)
{
    const char **deliveries = calloc(m->nmsg + 1, sizeof *deliveries);
    const char **events = calloc(m->nstatus + 1, sizeof *events);
    size_t nd = 0, ne = 0;
    int rc = -1;
    if (!deliveries || !events)
        goto out;
    for (size_t i = 0; i < m->nmsg; i++)
        if (m->msg[i].delivery_id)
            deliveries[nd++] = m->msg[i].delivery_id;
    for (size_t i = 0; i < m->nstatus; i++)
        if (ne == 0 || strcmp(events[ne - 1], m->status[i].event_id) != 0)
            events[ne++] = m->status[i].event_id;
    rc = 0;
    if (nd || ne) {
        buf d = BUF_INIT, e = BUF_INIT;
        rowset_keys(&d, deliveries, nd);
        rowset_keys(&e, events, ne);
        const char *params[] = {buf_str(&d), buf_str(&e)};
        rc =
            d.failed || e.failed ||
                    pipe_send(p, "delivery statuses",
                              "SELECT router.delivery_apply($1::uuid[], $2::uuid[])", 2, params) < 0
                ? -1
                : 0;
        buf_release(&d);
        buf_release(&e);
    }
out:
    free(deliveries);
    free(events);
    return rc;
}

int store_write(model *m, pgpipe *p)
{
    rowset w;
    if (!store_types_current(m)) {
        log_error("router: writing without the types of its batches (no store_prefetch?)");
        return -1;
    }

    /* Customers, created or changed. */
    rowset_init_composite(&w, &customers, m);
    for (size_t i = 0; i < m->ncust; i++)
        if (m->cust[i].dirty || m->cust[i].is_new)
            rowset_add(&w, &m->cust[i]);
    if (write_rows(p, &w, "customers", &w_customers) != 0)
        return -1;

    rowset_init(&w, &attributes, m);
    for (size_t i = 0; i < m->ncust; i++)
        if (m->cust[i].attr_patch)
            rowset_add(&w, &m->cust[i]);
    if (write_rows(p, &w, "attributes", &w_attributes) != 0)
        return -1;

    rowset_init_composite(&w, &identities, m);
    for (size_t i = 0; i < m->nidnew; i++)
        rowset_add(&w, &m->idnew[i]);
    if (write_rows(p, &w, "identities", &w_identities) != 0)
        return -1;

    rowset_init(&w, &customer_moves, m);
    for (size_t i = 0; i < m->nmerge; i++)
        rowset_add(&w, &m->merge[i]);
    if (write_rows(p, &w, "customer moves", &w_customer_moves) != 0)
        return -1;

    /* New tickets first (a merge may point at them), then those changed,
     * then those a contact only joined (most of them: a narrow update). */
    static rowset_stmt *const ticket_sql[] = {&w_tickets_new, &w_tickets_changed,
                                              &w_tickets_joined};
    const char **ids = malloc((m->ntick + 1) * sizeof *ids);
    if (!ids)
        return -1;
    for (int pass = 0; pass < 3; pass++) {
        size_t nids = 0;
        rowset_init_composite(&w, &tickets, m);
        if (pass == 2)
            rowset_only(&w, TICKET_JOINED);
        for (size_t i = 0; i < m->ntick; i++) {
            const m_ticket *t = &m->tick[i];
            if (!t->dirty && !t->is_new)
                continue;
            int kind = t->is_new ? 0 : model_ticket_changed(m, (int)i) ? 1 : 2;
            if (kind == pass) {
                rowset_add(&w, t);
                ids[nids++] = t->id;
            }
        }
        /* The updates probe their rows by these ids (BY_KEY). */
        buf keys = BUF_INIT;
        if (pass > 0)
            rowset_keys(&keys, ids, nids);
        int rc = -1;
        if (keys.failed)
            rowset_release(&w);
        else
            rc = write_rows_keyed(p, &w, "tickets", ticket_sql[pass],
                                  pass > 0 ? buf_str(&keys) : NULL);
        buf_release(&keys);
        if (rc != 0) {
            free(ids);
            return -1;
        }
    }
    free(ids);

    rowset_init(&w, &ticket_moves, m);
    for (size_t i = 0; i < m->ntmerge; i++)
        rowset_add(&w, &m->tmerge[i]);
    if (write_rows(p, &w, "ticket moves", &w_ticket_moves) != 0)
        return -1;
    rowset_init(&w, &ticket_merges, m);
    for (size_t i = 0; i < m->ntmerge; i++)
        rowset_add(&w, &m->tmerge[i]);
    if (write_rows(p, &w, "ticket merges", &w_ticket_merges) != 0)
        return -1;

    rowset_init_composite(&w, &messages, m);
    for (size_t i = 0; i < m->nmsg; i++)
        rowset_add(&w, &m->msg[i]);
    if (write_rows(p, &w, "messages", &w_messages) != 0)
        return -1;

    rowset_init(&w, &notes, m);
    for (size_t i = 0; i < m->nnote; i++)
        rowset_add(&w, &m->note[i]);
    if (write_rows(p, &w, "notes", &w_notes) != 0)
        return -1;

    rowset_init(&w, &statuses, m);
    for (size_t i = 0; i < m->nstatus; i++)
        rowset_add(&w, &m->status[i]);
    if (write_rows(p, &w, "delivery statuses", &w_statuses) != 0 || delivery_apply(m, p) != 0)
        return -1;

    rowset_init(&w, &merges, m);
    for (size_t i = 0; i < m->nmerge; i++)
        rowset_add(&w, &m->merge[i]);
    if (write_rows(p, &w, "merges", &w_merges) != 0)
        return -1;

    rowset_init(&w, &imports, m);
    for (size_t i = 0; i < m->nimport; i++)
        rowset_add(&w, &m->import[i]);
    if (write_rows(p, &w, "imports", &w_imports) != 0)
        return -1;

    rowset_init(&w, &agents, m);
    for (size_t i = 0; i < m->nagent; i++)
        if (m->agent[i].dirty)
            rowset_add(&w, &m->agent[i]);
    if (write_rows(p, &w, "agents", &w_agents) != 0)
        return -1;

    rowset_init(&w, &teams, m);
    for (size_t i = 0; i < m->nteam; i++)
        if (m->team[i].dirty)
            rowset_add(&w, &m->team[i]);
    if (write_rows(p, &w, "teams", &w_teams) != 0)
        return -1;

    rowset_init(&w, &canned, m);
    rowset_only(&w, "id");
    for (size_t i = 0; i < m->ncanned; i++)
        if (m->canned[i].deleted || m->canned[i].fresh)
            rowset_add(&w, &m->canned[i]);
    if (write_rows(p, &w, "canned replies deleted", &w_canned_deleted) != 0)
        return -1;
    rowset_init(&w, &canned, m);
    for (size_t i = 0; i < m->ncanned; i++)
        if (!m->canned[i].deleted)
            rowset_add(&w, &m->canned[i]);
    if (write_rows(p, &w, "canned replies", &w_canned_saved) != 0)
        return -1;
    /* Last: it moves rows the writes above put in place. */
    return m->unmerge ? unmerge_write(m, p) : 0;
}
