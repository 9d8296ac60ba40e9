/* route.c — identity, merges, threading, classification, priority and
 * assignment, applied to the batch's model one event at a time.
 *
 * Decisions the issue leaves open, and why:
 *  - A contact carrying handles of several customers merges them into the
 *    oldest (created_at, then id). When both have an active ticket (open
 *    or pending), the merged customer's ticket is merged into the
 *    survivor's: closed with merged_into set, its messages moved, its
 *    contacts and urgency carried over. The customer keeps one
 *    conversation, which is what "never repeat themselves" asks; the agent
 *    who held the merged ticket is freed.
 *  - A contact threads (In-Reply-To, then References newest first, or an
 *    explicit in_reply_to) to the ticket of the message it names, if that
 *    ticket is its customer's. A contact whose handles nobody owns yet
 *    joins the customer of the ticket it answers (the handles become
 *    theirs); one whose handles belong to someone else is not threaded (a
 *    forwarded mail is not the same customer).
 *  - A solved ticket reopens for a contact within the reopen window (its
 *    previous assignee keeps it if free); a closed ticket never reopens.
 *  - Classification happens when a ticket opens; a ticket still "other"
 *    is classified by a later contact that matches a rule (and moves to
 *    that category's team if no agent has it yet).
 *  - An escalation goes to a lead of the ticket's team (online first,
 *    then least loaded, longest idle), even beyond their capacity; with no
 *    lead the ticket keeps its assignee and only its priority rises.
 *  - Queues are drained after the event that freed capacity has done
 *    everything else, best ticket first across the teams concerned.
 *  - A reply that is not a note goes to the customer (message.outbound):
 *    on the channel the agent names, else the one the customer last wrote
 *    on; an acknowledgement (when configured) answers a new ticket on its
 *    channel. The router addresses them (address.h); courier sends them;
 *    their statuses fold in any order (router.delivery_apply).
 *  - Merges a person asks for, unmerges and customers from a CRM
 *    (merge.h, unmerge.h, import.h) run these same operations (route.h);
 *    a contact never merges customers an unmerge keeps apart.
 */
#include "route.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "agents.h"
#include "canned.h"
#include "datakey.h"
#include "erase.h"
#include "import.h"
#include "language.h"
#include "log.h"
#include "manual.h"
#include "merge.h"
#include "msgid.h"
#include "offline.h"
#include "store.h"
#include "teams.h"
#include "unmerge.h"

#define QUEUE_PAGE 64
/* Message-IDs kept in an email's References (the first and the latest). */
#define REFERENCES_MAX 20

typedef Carebus__V1__TicketStatus tstatus;
#define ST_OPEN CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_OPEN
#define ST_PENDING CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_PENDING
#define ST_SOLVED CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_SOLVED
#define ST_CLOSED CAREBUS__V1__TICKET_STATUS__TICKET_STATUS_CLOSED
#define CAT_OTHER CAREBUS__V1__CATEGORY__CATEGORY_OTHER
#define ONLINE CAREBUS__V1__PRESENCE__PRESENCE_ONLINE

static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && (*s < '\t' || *s > '\r'))
            return false;
    return true;
}

static const char *or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static json_t *item_fields(const route_item *it)
{
    return json_pack("{s:s, s:s, s:s, s:I}", "event_id", it->ev->event_id, "type",
                     it->ev->type ? it->ev->type : "", "stream",
                     it->ev->stream ? it->ev->stream : "", "seq", (json_int_t)it->ev->seq);
}

/* --- preparing and keys ------------------------------------------------------ */

/* What the router sends (replies, acknowledgements): the kinds whose
 * statuses it follows. Survey invitations are survey's. */
static bool kind_followed(Carebus__V1__OutboundKind k)
{
    return k != CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_SURVEY;
}

/* A status event names its message by delivery id, provider id or a
 * recipient's watermark; one that names none, or a message the router did
 * not send, changes nothing. */
static bool status_usable(const route_item *it)
{
    const event *ev = it->ev;
    const char *why = NULL;
    switch (ev->body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_MESSAGE_SENT:
        if (!kind_followed(ev->message_sent->kind))
            return false;
        if (!id_valid(ev->message_sent->delivery_id))
            why = "no valid delivery_id";
        break;
    case CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED: {
        const Carebus__V1__MessageFailed *f = ev->message_failed;
        if (!kind_followed(f->kind))
            return false;
        /* A failure while retries go on is courier's to report; the
         * timeline shows how the delivery ends. */
        if (!f->permanent)
            return false;
        if (!blank(f->delivery_id) ? !id_valid(f->delivery_id) : blank(f->provider_message_id))
            why = "neither a valid delivery_id nor a provider_message_id";
        break;
    }
    case CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED:
    case CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ: {
        bool read = ev->body_case == CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ;
        size_t n = read ? ev->message_read->n_provider_message_ids
                        : ev->message_delivered->n_provider_message_ids;
        const Google__Protobuf__Timestamp *w =
            read ? ev->message_read->watermark : ev->message_delivered->watermark;
        const char *rcpt = read ? ev->message_read->recipient : ev->message_delivered->recipient;
        if (n == 0 && (!w || blank(rcpt)))
            why = "neither provider_message_ids nor a recipient's watermark";
        break;
    }
    default:
        return false;
    }
    if (why)
        log_write(LOG_WARN, item_fields(it), "%s %s: %s: skipped", ev->type, ev->event_id, why);
    return !why;
}

bool route_ref_erased(const Carebus__V1__CustomerRef *who)
{
    return who && ((who->phone && strcmp(who->phone, DATAKEY_ERASED) == 0) ||
                   (who->email && strcmp(who->email, DATAKEY_ERASED) == 0) ||
                   (who->handle && strcmp(who->handle, DATAKEY_ERASED) == 0));
}

void route_prepare(route_item *it, const char *country)
{
    const event *ev = it->ev;
    it->skip = false;
    it->erased = false;
    it->recalled.ncustomers = 0;
    it->ids.n = 0;
    it->ids.rejected = 0;
    it->at = ev->occurred_at ? event_ts_us(ev->occurred_at) : it->rec;
    if (!id_valid(ev->event_id)) {
        log_write(LOG_WARN, item_fields(it), "%s: malformed event id: skipped",
                  ev->type ? ev->type : "event");
        it->skip = true;
        return;
    }
    switch (ev->body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED: {
        const Carebus__V1__ContactReceived *c = ev->contact_received;
        if (!event_channel_name(c->channel)[0]) {
            log_write(LOG_WARN, item_fields(it), "contact %s: unknown channel %d: skipped",
                      ev->event_id, (int)c->channel);
            it->skip = true;
            return;
        }
        if (route_ref_erased(c->customer)) {
            /* Its customers are recalled from the router's stream
             * (recall.h), not matched by what reads "[erased]". */
            it->erased = true;
            return;
        }
        identity_set_from_ref(&it->ids, c->channel, c->customer, country);
        if (it->ids.n == 0 && !it->ids.rejected) {
            log_write(LOG_WARN, item_fields(it),
                      "contact %s gives no phone, email or handle: skipped", ev->event_id);
            it->skip = true;
        } else if (it->ids.rejected || it->ids.n == 0) {
            /* Values are not logged: they are personal data. */
            log_write(it->ids.n ? LOG_INFO : LOG_WARN, item_fields(it),
                      "contact %s: %s%s%s could not be normalised%s", ev->event_id,
                      it->ids.rejected & IDENTITY_BAD_PHONE ? "phone " : "",
                      it->ids.rejected & IDENTITY_BAD_EMAIL ? "email " : "",
                      it->ids.rejected & IDENTITY_BAD_HANDLE ? "handle " : "",
                      it->ids.n ? " (ignored)" : ": no usable handle, skipped");
            it->skip = it->ids.n == 0;
        }
        return;
    }
    case CAREBUS__V1__ENVELOPE__BODY_CALL_ENDED: {
        const Carebus__V1__CallEnded *c = ev->call_ended;
        if (!ev->occurred_at && c->ended_at)
            it->at = event_ts_us(c->ended_at);
        if (c->caller && strcmp(c->caller, DATAKEY_ERASED) == 0) {
            /* An erased call, as an erased contact (recall.h). */
            it->erased = true;
            return;
        }
        if (identity_phone(c->caller, country, it->ids.items[0].value) != 0) {
            log_write(LOG_WARN, item_fields(it),
                      "call %s: the caller's number could not be normalised: skipped",
                      ev->event_id);
            it->skip = true;
            return;
        }
        snprintf(it->ids.items[0].kind, sizeof it->ids.items[0].kind, "phone");
        it->ids.n = 1;
        return;
    }
    case CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFER_REQUESTED:
    case CAREBUS__V1__ENVELOPE__BODY_SLA_ESCALATION:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGN_REQUESTED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_UPDATE_REQUESTED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_UNASSIGNED:
        if (!id_valid(ev->ticket_id)) {
            log_write(LOG_WARN, item_fields(it), "%s %s: no valid ticket_id: skipped", ev->type,
                      ev->event_id);
            it->skip = true;
        }
        return;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED:
        if (!id_valid(ev->customer_id)) {
            log_write(LOG_WARN, item_fields(it), "%s %s: no valid customer_id: skipped", ev->type,
                      ev->event_id);
            it->skip = true;
        }
        return;
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED:
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGE_REQUESTED:
        merge_prepare(it);
        return;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGE_REQUESTED:
        unmerge_prepare(it);
        return;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASURE_REQUESTED:
        erase_prepare(it);
        return;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_IMPORTED:
        import_prepare(it, country);
        return;
    case CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE: {
        const char *id = ev->agent_presence->agent_id;
        if (blank(id) || strlen(id) > 200) {
            log_write(LOG_WARN, item_fields(it), "agent.presence %s: no valid agent_id: skipped",
                      ev->event_id);
            it->skip = true;
        }
        return;
    }
    case CAREBUS__V1__ENVELOPE__BODY_MESSAGE_SENT:
    case CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED:
    case CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED:
    case CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ:
        it->skip = !status_usable(it);
        return;
    case CAREBUS__V1__ENVELOPE__BODY_AGENT_SAVED:
        it->skip = !agents_usable(it);
        return;
    case CAREBUS__V1__ENVELOPE__BODY_TEAM_SAVED:
        it->skip = !teams_usable(it);
        return;
    case CAREBUS__V1__ENVELOPE__BODY_CANNED_SAVED:
    case CAREBUS__V1__ENVELOPE__BODY_CANNED_DELETED:
        it->skip = !canned_usable(it);
        return;
    default:
        it->skip = true; /* not the router's business */
        return;
    }
}

static void keys_push(model *m, const char ***arr, size_t *n, size_t *cap, const char *s)
{
    arena_grow(&m->a, (void **)arr, cap, *n + 1, sizeof **arr);
    (*arr)[(*n)++] = s;
}

static const char *email_name(void)
{
    return event_channel_name(CAREBUS__V1__CHANNEL__CHANNEL_EMAIL);
}

/* An email's msg-id as it is stored and looked up: bare (msgid.h), in the
 * arena; id itself when it has no bare form. */
static const char *stored_msgid(model *m, const char *id)
{
    char bare[1024];
    return msgid_bare(id, bare, sizeof bare) == 0 && strcmp(bare, id) != 0 ? model_strdup(m, bare)
                                                                           : id;
}

/* The external id a contact's reference is looked up by: an email's
 * msg-id bare, whichever way the sender spelt it (then as given: a
 * message on another channel may have been given an id in brackets). */
static const char *ref_key(model *m, const Carebus__V1__ContactReceived *c, const char *id)
{
    return c->channel == CAREBUS__V1__CHANNEL__CHANNEL_EMAIL ? stored_msgid(m, id) : id;
}

void route_keys_add(model *m, route_keys *k, const route_item *it)
{
    if (it->skip)
        return;
    const event *ev = it->ev;
    for (size_t i = 0; i < it->ids.n; i++) {
        size_t n = k->nidents;
        keys_push(m, &k->kinds, &k->nidents, &k->cidents, it->ids.items[i].kind);
        keys_push(m, &k->values, &n, &k->cvalues, it->ids.items[i].value);
    }
    for (size_t i = 0; i < it->recalled.ncustomers; i++)
        keys_push(m, &k->customers, &k->ncustomers, &k->ccustomers, it->recalled.customers[i]);
    switch (ev->body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED: {
        const Carebus__V1__ContactReceived *c = ev->contact_received;
        for (size_t i = 0; i <= c->n_references; i++) {
            const char *id = i < c->n_references ? c->references[i] : c->in_reply_to;
            if (blank(id))
                continue;
            keys_push(m, &k->refs, &k->nrefs, &k->crefs, id);
            const char *key = ref_key(m, c, id);
            if (key != id)
                keys_push(m, &k->refs, &k->nrefs, &k->crefs, key);
        }
        break;
    }
    case CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED:
        if (!ev->agent_replied->internal_note)
            keys_push(m, &k->threads, &k->nthreads, &k->cthreads, ev->ticket_id);
        keys_push(m, &k->tickets, &k->ntickets, &k->ctickets, ev->ticket_id);
        break;
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFER_REQUESTED:
    case CAREBUS__V1__ENVELOPE__BODY_SLA_ESCALATION:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGN_REQUESTED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_UPDATE_REQUESTED:
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_UNASSIGNED:
        keys_push(m, &k->tickets, &k->ntickets, &k->ctickets, ev->ticket_id);
        break;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED:
        keys_push(m, &k->customers, &k->ncustomers, &k->ccustomers, ev->customer_id);
        break;
    case CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED:
        keys_push(m, &k->tickets, &k->ntickets, &k->ctickets, ev->ticket_id);
        keys_push(m, &k->tickets, &k->ntickets, &k->ctickets,
                  ev->ticket_merge_requested->into_ticket_id);
        break;
    case CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGE_REQUESTED:
        keys_push(m, &k->customers, &k->ncustomers, &k->ccustomers,
                  ev->customer_merge_requested->survivor_id);
        keys_push(m, &k->customers, &k->ncustomers, &k->ccustomers,
                  ev->customer_merge_requested->merged_id);
        break;
    default:
        break;
    }
}

/* --- small pieces ----------------------------------------------------------------- */

static const char *tid(route_ctx *c, int t)
{
    return c->m->tick[t].id;
}

static const char *tcust(route_ctx *c, int t)
{
    model *m = c->m;
    return m->cust[model_customer_final(m, m->tick[t].cust)].id;
}

static void drain_add_teams(route_ctx *c, const char *const *teams, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < c->ndrain && strcmp(c->drain[k], teams[i]) != 0)
            k++;
        if (k == c->ndrain) {
            arena_grow(&c->m->a, (void **)&c->drain, &c->cdrain, c->ndrain + 1, sizeof *c->drain);
            c->drain[c->ndrain++] = teams[i];
        }
    }
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static bool agent_free_for(const m_agent *a, const char *team)
{
    return a->presence == ONLINE && a->active && a->load < a->capacity &&
           in_list(a->teams, a->nteams, team);
}

/* Least loaded, then longest idle, then by id. */
static bool agent_before(const m_agent *a, const m_agent *b)
{
    if (a->load != b->load)
        return a->load < b->load;
    if (a->last_active != b->last_active)
        return a->last_active < b->last_active;
    return strcmp(a->id, b->id) < 0;
}

static int best_agent(const model *m, const char *team)
{
    int best = -1;
    for (size_t i = 0; i < m->nagent; i++)
        if (agent_free_for(&m->agent[i], team) &&
            (best < 0 || agent_before(&m->agent[i], &m->agent[best])))
            best = (int)i;
    return best;
}

/* A lead of team: the one saved with the team (teams.h), else one of
 * those presence names, online ones first. */
static int best_lead(const model *m, const char *team)
{
    int best = teams_lead(m, team);
    if (best >= 0)
        return best;
    for (size_t i = 0; i < m->nagent; i++) {
        const m_agent *a = &m->agent[i];
        if (!a->active || !in_list(a->leads, a->nleads, team))
            continue;
        if (best < 0) {
            best = (int)i;
            continue;
        }
        const m_agent *b = &m->agent[best];
        bool ao = a->presence == ONLINE, bo = b->presence == ONLINE;
        if (ao != bo ? ao : agent_before(a, b))
            best = (int)i;
    }
    return best;
}

/* Frees the assignee's capacity when t stops being active or changes
 * hands; their teams' queues will be drained. */
static void agent_release(route_ctx *c, int t)
{
    model *m = c->m;
    int a = model_agent(m, m->tick[t].assignee);
    if (a < 0)
        return;
    m_agent *ag = &m->agent[a];
    if (ag->load > 0)
        ag->load--;
    ag->dirty = true;
    drain_add_teams(c, ag->teams, ag->nteams);
}

static void agent_take(model *m, int a, int t, int64_t at)
{
    m_agent *ag = &m->agent[a];
    m_ticket *tk = &m->tick[t];
    ag->load++;
    ag->last_active = max64(ag->last_active, at);
    ag->dirty = true;
    tk->assignee = ag->id;
    tk->assigned = at;
    tk->queued = MODEL_NONE;
    tk->dirty = true;
}

/* The priority of t from its inputs; true when it changed. */
static bool priority_update(route_ctx *c, int t)
{
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    const m_customer *cu = &m->cust[model_customer_final(m, tk->cust)];
    struct rules_priority_in in = {
        .segment = cu->segment,
        .category = tk->category,
        .urgent_word = tk->urgent_word,
        .contacts = tk->contacts,
        .escalated = tk->escalated_rank,
    };
    struct rules_priority p;
    rules_priority(m->rules, &in, &p);
    manual_priority(tk->prio_override, &p);
    /* As PostgreSQL prints the text[] (to_json), so that an unchanged
     * list compares equal to the one loaded. */
    json_t *list = json_array();
    for (size_t i = 0; list && i < p.nreasons; i++)
        json_array_append_new(list, json_string(p.reasons[i]));
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    const char *reasons = text ? text : "[]";
    bool changed = p.rank != tk->rank || !tk->reasons || strcmp(reasons, tk->reasons) != 0;
    if (changed) {
        tk->rank = p.rank;
        tk->reasons = model_strdup(m, reasons);
        tk->dirty = true;
    }
    free(text);
    return changed;
}

/* A message on t's conversation; the row, to complete (valid until the
 * next message is added). */
static m_message *add_message(route_ctx *c, const route_item *it, int t, const char *channel,
                              const char *direction, const char *external_id, const char *subject,
                              const char *text, const char *agent_id)
{
    model *m = c->m;
    arena_grow(&m->a, (void **)&m->msg, &m->msgcap, m->nmsg + 1, sizeof *m->msg);
    m_message *x = &m->msg[m->nmsg++];
    x->event_id = it->ev->event_id;
    x->ticket = t;
    x->channel = channel;
    x->direction = direction;
    x->external_id = or_null(external_id);
    if (x->external_id && strcmp(channel, email_name()) == 0)
        x->external_id = stored_msgid(m, x->external_id);
    x->subject = or_null(subject);
    x->text = or_null(text);
    x->agent_id = or_null(agent_id);
    x->at = it->at;
    x->stream = it->ev->stream;
    x->seq = it->ev->seq;
    x->attachments = NULL;
    x->outbound_kind = x->delivery_id = x->recipient = NULL;
    if (x->external_id)
        model_add_ref(m, x->external_id, channel, t, it->at, it->ev->stream, it->ev->seq);
    m_ticket *tk = &m->tick[t];
    tk->updated = max64(tk->updated, it->at);
    tk->dirty = true;
    return x;
}

/* Attachments as the timeline shows them: [{name, content_type, size,
 * url, media_id}], empty fields left out; NULL when there are none. */
static const char *attachments_json(model *m, Carebus__V1__Attachment *const *a, size_t n)
{
    if (n == 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
            break;
        }
        const Carebus__V1__Attachment *x = a[i];
        if (!blank(x->name))
            json_object_set_new(o, "name", json_string(x->name));
        if (!blank(x->content_type))
            json_object_set_new(o, "content_type", json_string(x->content_type));
        if (x->size)
            json_object_set_new(o, "size", json_integer((json_int_t)x->size));
        if (!blank(x->url))
            json_object_set_new(o, "url", json_string(x->url));
        if (!blank(x->media_id))
            json_object_set_new(o, "media_id", json_string(x->media_id));
    }
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!text) {
        log_error("router: out of memory writing attachments: exiting, the log replays the batch");
        abort();
    }
    const char *out = model_strdup(m, text);
    free(text);
    return out;
}

/* A note's detail as JSON text (caller frees; NULL: "{}" is written).
 * Takes the object. */
static char *note_detail(json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* A note on t's timeline; detail is JSON (NULL: {}). */
static void add_note(route_ctx *c, const route_item *it, int t, const char *kind, int ord,
                     const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void add_note(route_ctx *c, const route_item *it, int t, const char *kind, int ord,
                     const char *detail, const char *fmt, ...)
{
    model *m = c->m;
    arena_grow(&m->a, (void **)&m->note, &m->notecap, m->nnote + 1, sizeof *m->note);
    m_note *n = &m->note[m->nnote++];
    emit_note_id(c->em, n->id);
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    n->ticket = t;
    n->kind = kind;
    n->text = model_strdup(m, text);
    n->detail = detail ? model_strdup(m, detail) : NULL;
    n->cause_id = it->ev->event_id;
    n->stream = it->ev->stream;
    n->seq = it->ev->seq;
    n->at = it->at;
    n->ord = ord;
}

/* --- emitting ---------------------------------------------------------------------- */

/* actor: the person who assigned it (ticket.assign_requested), NULL when
 * the rules did. */
static int emit_assigned_by(route_ctx *c, int t, int64_t at, const char *actor)
{
    const m_ticket *tk = &c->m->tick[t];
    Carebus__V1__TicketAssigned b = CAREBUS__V1__TICKET_ASSIGNED__INIT;
    b.team = (char *)(tk->team ? tk->team : "");
    b.agent_id = (char *)(tk->assignee ? tk->assignee : "");
    b.manual = actor != NULL;
    b.actor = (char *)(actor ? actor : "");
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGNED;
    e.ticket_assigned = &b;
    return emit(c->em, &e, tcust(c, t), tid(c, t), at);
}

static int emit_assigned(route_ctx *c, int t, int64_t at)
{
    return emit_assigned_by(c, t, at, NULL);
}

static int emit_classified(route_ctx *c, int t, int64_t at)
{
    const m_ticket *tk = &c->m->tick[t];
    Carebus__V1__TicketClassified b = CAREBUS__V1__TICKET_CLASSIFIED__INIT;
    b.category = tk->category;
    b.rule = (char *)(tk->cat_override ? MANUAL_RULE : tk->rule ? tk->rule : "");
    b.priority = (Carebus__V1__Priority)tk->rank;
    json_t *r = json_loads(tk->reasons ? tk->reasons : "[]", 0, NULL);
    size_t n = json_is_array(r) ? json_array_size(r) : 0;
    char *reasons[RULES_REASONS_MAX + 2];
    if (n > RULES_REASONS_MAX + 2)
        n = RULES_REASONS_MAX + 2;
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(r, i));
        reasons[i] = (char *)(v ? v : "");
    }
    b.reasons = reasons;
    b.n_reasons = n;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CLASSIFIED;
    e.ticket_classified = &b;
    int rc = emit(c->em, &e, tcust(c, t), tid(c, t), at);
    json_decref(r);
    return rc;
}

/* Gives t to the best free agent of its team, or queues it; emits
 * ticket.assigned (with the agent, or only the team) and ticket.queued. */
static int assign_or_queue(route_ctx *c, int t, int64_t at)
{
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    int a = tk->team ? best_agent(m, tk->team) : -1;
    if (a >= 0) {
        agent_take(m, a, t, at);
        return emit_assigned(c, t, at);
    }
    tk->assignee = NULL;
    tk->queued = at;
    tk->dirty = true;
    if (emit_assigned(c, t, at) != 0)
        return -1;
    Carebus__V1__TicketQueued b = CAREBUS__V1__TICKET_QUEUED__INIT;
    b.team = (char *)(tk->team ? tk->team : "");
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_QUEUED;
    e.ticket_queued = &b;
    return emit(c->em, &e, tcust(c, t), tid(c, t), at);
}

/* --- queues ------------------------------------------------------------------------- */

static bool queued_in(const model *m, int t, const char *team)
{
    const m_ticket *tk = &m->tick[t];
    return tk->queued != MODEL_NONE && !tk->assignee && model_ticket_active(tk) &&
           tk->merged_into < 0 && tk->team && strcmp(tk->team, team) == 0;
}

static bool ticket_before(const model *m, int a, int b)
{
    const m_ticket *x = &m->tick[a], *y = &m->tick[b];
    return model_queue_before(x->rank, x->queued, x->id, y->rank, y->queued, y->id);
}

/* The head of team's queue: the model's best, once no ticket in
 * PostgreSQL can rank above it. 1 with *out, 0 when empty, -1 on error. */
static int queue_head(route_ctx *c, const char *team, int *out)
{
    model *m = c->m;
    m_queue *q = model_queue(m, team);
    for (int pages = 0; pages < 100000; pages++) {
        int best = -1;
        for (size_t t = 0; t < m->ntick; t++)
            if (queued_in(m, (int)t, team) && (best < 0 || ticket_before(m, (int)t, best)))
                best = (int)t;
        bool settled = q->exhausted;
        if (!settled && q->loaded && best >= 0) {
            const m_ticket *b = &m->tick[best];
            /* At or above the watermark: every ticket of PostgreSQL that
             * could come before it is in the model already. */
            settled = !model_queue_before(q->wm_rank, q->wm_queued, q->wm_id, b->rank, b->queued,
                                          b->id) ||
                      strcmp(q->wm_id, b->id) == 0;
        }
        if (settled) {
            *out = best;
            return best >= 0;
        }
        if (store_queue_page(m, q, QUEUE_PAGE) != 0)
            return -1;
    }
    return -1;
}

/* Assigns queued tickets to free agents of the teams in c->drain, best
 * ticket first, until no team has both. */
static int drain(route_ctx *c, int64_t at)
{
    model *m = c->m;
    for (int rounds = 0; c->ndrain && rounds < 1000000; rounds++) {
        int best = -1;
        for (size_t i = 0; i < c->ndrain; i++) {
            if (best_agent(m, c->drain[i]) < 0)
                continue;
            int head;
            int rc = queue_head(c, c->drain[i], &head);
            if (rc < 0)
                return -1;
            if (rc > 0 && (best < 0 || ticket_before(m, head, best)))
                best = head;
        }
        if (best < 0)
            break;
        int a = best_agent(m, m->tick[best].team);
        assert(a >= 0);
        agent_take(m, a, best, at);
        if (emit_assigned(c, best, at) != 0)
            return -1;
    }
    c->ndrain = 0;
    return 0;
}

/* --- what carebus sends --------------------------------------------------------------- */

struct contact {
    Carebus__V1__Channel channel;
    const char *name, *text, *subject, *external_id, *agent_id;
    const Carebus__V1__ContactReceived *ref; /* for threading; NULL for calls */
};

/* What a message.outbound needs of its ticket: the conversation (loaded and
 * of this batch) and the customer's handles. */
struct conversation {
    const m_message **msgs;
    size_t nmsgs;
    const m_identity **ids;
    size_t nids;
};

static int conversation(route_ctx *c, int t, struct conversation *cv)
{
    model *m = c->m;
    if (store_conversation(m, t) != 0)
        return -1;
    int cu = model_customer_final(m, m->tick[t].cust);
    /* Twice: count, then collect into arrays of the right size (a batch
     * of replies would otherwise take the whole model's size each). */
    for (int pass = 0; pass < 2; pass++) {
        size_t nm = 0, ni = 0;
        for (size_t i = 0; i < m->nhist; i++)
            if (m->hist[i].ticket >= 0 && model_ticket_final(m, m->hist[i].ticket) == t) {
                if (pass)
                    cv->msgs[nm] = &m->hist[i];
                nm++;
            }
        for (size_t i = 0; i < m->nmsg; i++)
            if (model_ticket_final(m, m->msg[i].ticket) == t) {
                if (pass)
                    cv->msgs[nm] = &m->msg[i];
                nm++;
            }
        for (size_t i = 0; i < m->ncident; i++)
            if (m->cident[i].cust >= 0 && model_customer_final(m, m->cident[i].cust) == cu) {
                if (pass)
                    cv->ids[ni] = &m->cident[i];
                ni++;
            }
        for (size_t i = 0; i < m->nidnew; i++)
            if (model_customer_final(m, m->idnew[i].cust) == cu) {
                if (pass)
                    cv->ids[ni] = &m->idnew[i];
                ni++;
            }
        if (!pass) {
            cv->msgs = arena_calloc(&m->a, nm + 1, sizeof *cv->msgs);
            cv->ids = arena_calloc(&m->a, ni + 1, sizeof *cv->ids);
        }
        cv->nmsgs = nm;
        cv->nids = ni;
    }
    return 0;
}

struct outbound {
    Carebus__V1__OutboundKind kind;
    Carebus__V1__Channel channel;
    const char *cause_id; /* the agent.replied, or the ticket.opened */
    const char *text, *agent_id;
    Carebus__V1__Attachment **attachments;
    size_t nattachments;
    language_id lang;
    const char *subject;    /* email */
    const char *message_id; /* email: carebus's own */
    char delivery_id[ID_LEN];
    address_rcpt rcpt;
};

/* The delivery id of what cause_id makes carebus send: stable across
 * retries and rebuilds. */
static void delivery_id_of(const char *cause_id, char out[ID_LEN])
{
    id_derive2(cause_id, "delivery", out);
}

/* id in angle form (msgid.h), in the arena; "" for none. */
static char *angle_msgid(model *m, const char *id)
{
    char a[1024];
    return id && msgid_angle(id, a, sizeof a) == 0 ? model_strdup(m, a) : (char *)"";
}

/* Emits o (o->delivery_id set) as a message.outbound on t; o->rcpt is set
 * here (an empty recipient when the customer has none on that channel:
 * courier fails it visibly). */
static int emit_outbound(route_ctx *c, const route_item *it, int t, struct outbound *o,
                         const struct conversation *cv)
{
    model *m = c->m;
    const char *channel = event_channel_name(o->channel);
    if (address_recipient(o->channel, cv->ids, cv->nids, &o->rcpt) != 0)
        log_write(LOG_WARN, item_fields(it),
                  "%s: the customer of ticket %s has no handle on %s: sent without a recipient",
                  it->ev->event_id, tid(c, t), channel[0] ? channel : "no channel");
    Carebus__V1__CustomerRef rcpt = CAREBUS__V1__CUSTOMER_REF__INIT;
    const m_customer *cu = &m->cust[model_customer_final(m, m->tick[t].cust)];
    rcpt.name = (char *)(cu->name ? cu->name : "");
    rcpt.handle = o->rcpt.handle;
    rcpt.phone = o->rcpt.phone;
    rcpt.email = o->rcpt.email;

    Carebus__V1__MessageOutbound b = CAREBUS__V1__MESSAGE_OUTBOUND__INIT;
    b.delivery_id = o->delivery_id;
    b.cause_event_id = (char *)o->cause_id;
    b.kind = o->kind;
    b.channel = o->channel;
    b.recipient = &rcpt;
    b.text = (char *)(o->text ? o->text : "");
    b.attachments = o->attachments;
    b.n_attachments = o->nattachments;
    b.language = (char *)language_code(o->lang);
    b.agent_id = (char *)(o->agent_id ? o->agent_id : "");
    Google__Protobuf__Timestamp last = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    const m_message *in = address_last_inbound(cv->msgs, cv->nmsgs, channel);
    if (in) {
        event_ts_set(&last, in->at);
        b.last_inbound_at = &last;
    }
    /* Headers' spelling, whatever the rows hold (msgid.h). */
    const char *refs[REFERENCES_MAX];
    char *angled[REFERENCES_MAX + 2] = {0};
    if (o->channel == CAREBUS__V1__CHANNEL__CHANNEL_EMAIL) {
        const char *parent = address_in_reply_to(cv->msgs, cv->nmsgs);
        b.subject = (char *)(o->subject ? o->subject : "");
        b.message_id = angle_msgid(m, o->message_id);
        b.in_reply_to = angle_msgid(m, parent);
        b.n_references = address_references(cv->msgs, cv->nmsgs, refs, REFERENCES_MAX);
        for (size_t i = 0; i < b.n_references; i++)
            angled[i] = angle_msgid(m, refs[i]);
        b.references = angled;
    }
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_OUTBOUND;
    e.message_outbound = &b;
    return emit(c->em, &e, tcust(c, t), tid(c, t), it->at);
}

/* The outbound columns of the message row x. */
static void message_outbound(model *m, m_message *x, const struct outbound *o)
{
    x->outbound_kind = vocab_name(&carebus__v1__outbound_kind__descriptor, (int)o->kind);
    x->delivery_id = model_strdup(m, o->delivery_id);
    x->recipient = model_strdup(m, o->rcpt.handle);
}

/* An acknowledgement of ticket t, opened by the contact it: on the
 * contact's channel, in its language, worded for the time it came. */
static int acknowledge(route_ctx *c, const route_item *it, int t, const char *opened_id,
                       const struct contact *k)
{
    model *m = c->m;
    const m_ticket *tk = &m->tick[t];
    const m_customer *cu = &m->cust[model_customer_final(m, tk->cust)];
    struct conversation cv;
    if (conversation(c, t, &cv) != 0)
        return -1;
    struct outbound o = {
        .kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_ACKNOWLEDGEMENT,
        .channel = k->channel,
        .cause_id = opened_id,
        .lang = language_guess(!blank(k->text) ? k->text : k->subject),
    };
    bool business = ack_business_hours(c->ack, it->at);
    buf text = BUF_INIT, subject = BUF_INIT;
    ack_render(c->ack, k->channel, o.lang, business ? ACK_BUSINESS_HOURS : ACK_AFTER_HOURS,
               cu->name, tk->number, &text);
    char re[1100], mid[ID_LEN + 300];
    delivery_id_of(opened_id, o.delivery_id);
    if (k->channel == CAREBUS__V1__CHANNEL__CHANNEL_EMAIL) {
        address_subject(k->subject, re, sizeof re);
        if (re[0])
            buf_puts(&subject, re);
        else
            ack_render(c->ack, k->channel, o.lang, ACK_SUBJECT, cu->name, tk->number, &subject);
        address_message_id(o.delivery_id, c->email_domain, mid, sizeof mid);
        o.subject = buf_str(&subject);
        o.message_id = mid;
    }
    o.text = buf_str(&text);
    int rc = text.failed || subject.failed ? -1 : emit_outbound(c, it, t, &o, &cv);
    if (rc == 0) {
        /* The row outlives the buffers: its texts go to the arena. */
        m_message *x = add_message(c, it, t, event_channel_name(k->channel), "out",
                                   model_strdup(m, o.message_id), model_strdup(m, o.subject),
                                   model_strdup(m, o.text), NULL);
        x->event_id = model_strdup(m, c->em->last);
        message_outbound(m, x, &o);
    }
    buf_release(&text);
    buf_release(&subject);
    return rc;
}

/* --- customers: creation and merges ----------------------------------------------- */

static int customer_new(route_ctx *c, const route_item *it, const char *name)
{
    m_customer cu = {.merged_into = -1, .merged_at = MODEL_NONE, .is_new = true};
    id_derive2(it->ev->event_id, "customer", cu.id);
    cu.segment = CAREBUS__V1__SEGMENT__SEGMENT_REGULAR;
    cu.status = CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE;
    cu.name = blank(name) ? NULL : model_strdup(c->m, name);
    cu.created = cu.updated = it->at;
    return model_add_customer(c->m, &cu);
}

/* The customer's active ticket (the latest opened), -1. */
static int active_ticket(const model *m, int cu)
{
    int best = -1;
    const m_customer *x = &m->cust[cu];
    for (size_t i = 0; i < x->ntickets; i++) {
        int t = x->tickets[i];
        const m_ticket *tk = &m->tick[t];
        if (!model_ticket_active(tk) || tk->merged_into >= 0)
            continue;
        if (best < 0 || tk->created > m->tick[best].created ||
            (tk->created == m->tick[best].created && strcmp(tk->id, m->tick[best].id) > 0))
            best = t;
    }
    return best;
}

/* The customer's most recently solved ticket, -1. */
static int solved_ticket(const model *m, int cu)
{
    int best = -1;
    const m_customer *x = &m->cust[cu];
    for (size_t i = 0; i < x->ntickets; i++) {
        int t = x->tickets[i];
        const m_ticket *tk = &m->tick[t];
        if (tk->status != ST_SOLVED || tk->merged_into >= 0)
            continue;
        if (best < 0 || tk->solved > m->tick[best].solved ||
            (tk->solved == m->tick[best].solved && strcmp(tk->id, m->tick[best].id) > 0))
            best = t;
    }
    return best;
}

/* Ticket f joins ticket t (their customers are one): f is closed, its
 * messages and notes move, its contacts and urgency count on t. actor and
 * reason: the person who asked and why (merge.h), NULL when their
 * customers were merged. */
static int ticket_merge_by(route_ctx *c, const route_item *it, int f, int t, const char *actor,
                           const char *why)
{
    model *m = c->m;
    m_ticket *from = &m->tick[f];
    if (model_ticket_active(from) && from->assignee)
        agent_release(c, f);
    from->status = ST_CLOSED;
    from->closed = it->at;
    from->queued = MODEL_NONE;
    from->merged_into = t;
    from->updated = max64(from->updated, it->at);
    from->dirty = true;
    m_ticket *into = &m->tick[t];
    into->contacts += from->contacts;
    if (!into->urgent_word)
        into->urgent_word = from->urgent_word;
    if (from->escalated_rank > into->escalated_rank)
        into->escalated_rank = from->escalated_rank;
    into->updated = max64(into->updated, max64(from->updated, it->at));
    into->dirty = true;
    arena_grow(&m->a, (void **)&m->tmerge, &m->tmergecap, m->ntmerge + 1, sizeof *m->tmerge);
    m->tmerge[m->ntmerge++] = (m_ticket_merge){.from = f,
                                               .into = t,
                                               .cause_id = it->ev->event_id,
                                               .actor = actor,
                                               .reason = why,
                                               .at = it->at};

    char reason[96];
    snprintf(reason, sizeof reason, "merged into %s", m->tick[t].id);
    Carebus__V1__TicketClosed b = CAREBUS__V1__TICKET_CLOSED__INIT;
    b.reason = reason;
    b.merged_into_ticket_id = m->tick[t].id;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED;
    e.ticket_closed = &b;
    if (emit(c->em, &e, tcust(c, t), m->tick[f].id, it->at) != 0)
        return -1;
    /* The fact on the ticket that stays: sla-monitor and analytics count
     * the merged one by its ticket.closed (merged_into_ticket_id). */
    Carebus__V1__TicketMerged tm = CAREBUS__V1__TICKET_MERGED__INIT;
    tm.source_ticket_id = m->tick[f].id;
    tm.actor = (char *)(actor ? actor : "");
    tm.reason = (char *)(why ? why : "");
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGED;
    e.ticket_merged = &tm;
    if (emit(c->em, &e, tcust(c, t), m->tick[t].id, it->at) != 0)
        return -1;
    char *detail = note_detail(json_pack("{s:s, s:s*, s:s*}", "ticket_id", m->tick[f].id, "actor",
                                         or_null(actor), "reason", or_null(why)));
    if (actor)
        add_note(c, it, t, "ticket.merged", 1, detail,
                 "ticket %s was merged into this one by %.128s%s%.300s", m->tick[f].id, actor,
                 blank(why) ? "" : ": ", blank(why) ? "" : why);
    else
        add_note(c, it, t, "ticket.merged", 1, detail,
                 "ticket %s was merged into this one (its customer was merged)", m->tick[f].id);
    free(detail);
    if (priority_update(c, t) && emit_classified(c, t, it->at) != 0)
        return -1;
    return 0;
}

static int ticket_merge(route_ctx *c, const route_item *it, int f, int t)
{
    return ticket_merge_by(c, it, f, t, NULL, NULL);
}

/* Folds customer o into the survivor s: handles, tickets and history
 * move; an active ticket of o joins s's. */
static int customer_merge(route_ctx *c, const route_item *it, int s, int o)
{
    model *m = c->m;
    if (s == o)
        return 0;
    for (size_t i = 0; i < m->ident.cap; i++)
        if (m->ident.slots[i].key && m->ident.slots[i].value == o)
            m->ident.slots[i].value = s;
    for (size_t i = 0; i < m->ncust; i++)
        if (m->cust[i].merged_into == o) {
            m->cust[i].merged_into = s;
            m->cust[i].dirty = true;
        }
    m_customer *mo = &m->cust[o];
    mo->merged_into = s;
    mo->merged_at = it->at;
    mo->updated = max64(mo->updated, it->at);
    mo->dirty = true;
    m->cust[s].updated = max64(m->cust[s].updated, it->at);
    if (!m->cust[s].name && m->cust[o].name)
        m->cust[s].name = m->cust[o].name;
    m->cust[s].dirty = true;

    /* Their tickets, oldest first, become the survivor's. */
    size_t n = m->cust[o].ntickets;
    int *moved = arena_calloc(&m->a, n + 1, sizeof *moved);
    memcpy(moved, m->cust[o].tickets, n * sizeof *moved);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && m->tick[moved[k]].created < m->tick[moved[k - 1]].created;
             k--) {
            int tmp = moved[k];
            moved[k] = moved[k - 1];
            moved[k - 1] = tmp;
        }
    int target = active_ticket(m, s);
    for (size_t i = 0; i < n; i++) {
        model_link_ticket(m, s, moved[i]);
        m->tick[moved[i]].dirty = true;
    }
    m->cust[o].ntickets = 0;
    for (size_t i = 0; i < n; i++) {
        int t = moved[i];
        if (!model_ticket_active(&m->tick[t]) || m->tick[t].merged_into >= 0)
            continue;
        if (target < 0)
            target = t;
        else if (ticket_merge(c, it, t, target) != 0)
            return -1;
    }

    arena_grow(&m->a, (void **)&m->merge, &m->mergecap, m->nmerge + 1, sizeof *m->merge);
    m_merge *x = &m->merge[m->nmerge++];
    x->merged = o;
    x->survivor = s;
    x->contact_event_id = it->ev->event_id;
    x->at = it->at;
    x->actor = c->actor;
    x->reason = c->actor ? c->reason : NULL;

    Carebus__V1__CustomerMerged b = CAREBUS__V1__CUSTOMER_MERGED__INIT;
    b.survivor_id = m->cust[s].id;
    b.merged_id = m->cust[o].id;
    b.contact_event_id = it->ev->event_id;
    b.actor = (char *)(c->actor ? c->actor : "");
    char **ids = arena_calloc(&m->a, n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = m->tick[moved[i]].id;
    b.ticket_ids = ids;
    b.n_ticket_ids = n;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED;
    e.customer_merged = &b;
    /* The merge's event id, for the merges row: emit numbers it. */
    char name[160];
    snprintf(name, sizeof name, "%s/customer.merged/%d", c->em->cause,
             c->em->count[CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGED]);
    id_derive(name, x->event_id);
    if (emit(c->em, &e, m->cust[s].id, target >= 0 ? m->tick[target].id : NULL, it->at) != 0)
        return -1;
    /* Segment and merged tickets may change the target's priority. */
    if (target >= 0 && priority_update(c, target) && emit_classified(c, target, it->at) != 0)
        return -1;
    return 0;
}

/* --- contacts and calls -------------------------------------------------------------- */

/* The ticket of the message external_id names: the same channel's first,
 * then the latest. -1 if none. */
static int ref_ticket(const model *m, const char *external_id, const char *channel)
{
    int best = -1;
    bool best_same = false;
    for (int r = model_ref(m, external_id); r >= 0; r = m->refs[r].next) {
        const m_ref *x = &m->refs[r];
        bool same = strcmp(x->channel, channel) == 0;
        if (best >= 0) {
            const m_ref *b = &m->refs[best];
            if (best_same && !same)
                continue;
            if (same == best_same &&
                (x->at < b->at ||
                 (x->at == b->at && (strcmp(x->stream, b->stream) < 0 ||
                                     (strcmp(x->stream, b->stream) == 0 && x->seq < b->seq)))))
                continue;
        }
        best = r;
        best_same = same;
    }
    return best >= 0 ? model_ticket_final(m, m->refs[best].ticket) : -1;
}

/* The ticket of the message a contact's reference names: -1 when none. */
static int referenced_ticket(model *m, const Carebus__V1__ContactReceived *k, const char *id,
                             const char *channel)
{
    if (blank(id))
        return -1;
    const char *key = ref_key(m, k, id);
    int t = ref_ticket(m, key, channel);
    return t < 0 && key != id ? ref_ticket(m, id, channel) : t;
}

static int threaded_ticket(model *m, const Carebus__V1__ContactReceived *k, const char *channel)
{
    int t = referenced_ticket(m, k, k->in_reply_to, channel);
    if (t >= 0)
        return t;
    /* References lists the thread oldest first: the newest is the most
     * specific. */
    for (size_t i = k->n_references; i-- > 0;) {
        t = referenced_ticket(m, k, k->references[i], channel);
        if (t >= 0)
            return t;
    }
    return -1;
}

static bool within_window(const model *m, const m_ticket *t, int64_t at)
{
    return m->reopen_window_us > 0 && t->solved != MODEL_NONE &&
           at - t->solved <= m->reopen_window_us;
}

/* Folds the contact's words for classification: subject, then text. */
static int contact_words(fold_text *f, const char *subject, const char *text)
{
    if (fold_init(f, subject) != 0 || fold_append(f, text) != 0)
        return -1;
    return 0;
}

/* The contact's message on t's conversation, with its attachments. */
static void contact_message(route_ctx *c, const route_item *it, int t, const struct contact *k)
{
    m_message *x = add_message(c, it, t, event_channel_name(k->channel), "in", k->external_id,
                               k->subject, k->text, k->agent_id);
    if (k->ref)
        x->attachments = attachments_json(c->m, k->ref->attachments, k->ref->n_attachments);
}

static int emit_contact_added(route_ctx *c, const route_item *it, int t, Carebus__V1__Channel ch)
{
    Carebus__V1__TicketContactAdded b = CAREBUS__V1__TICKET_CONTACT_ADDED__INIT;
    b.contact_event_id = it->ev->event_id;
    b.channel = ch;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CONTACT_ADDED;
    e.ticket_contact_added = &b;
    return emit(c->em, &e, tcust(c, t), tid(c, t), it->at);
}

/* Who opens a ticket, for an unmerge (unmerge.h): the customer the
 * contact's own handle was first known with (identity.h lists it last:
 * the channel's handle, else the email, else the phone), else cu. */
static void ticket_opener(const model *m, const route_item *it, int cu, char out[ID_LEN])
{
    const char *o = NULL;
    if (it->ids.n) {
        const struct identity *own = &it->ids.items[it->ids.n - 1];
        o = model_identity_origin(m, own->kind, own->value);
    }
    snprintf(out, ID_LEN, "%s", o ? o : m->cust[cu].id);
}

/* What the rules find in a contact's text; in an erased one, what they
 * found when it could be read (recall.h), the phrase itself erased. */
static void contact_classify(model *m, const route_item *it, const fold_text *words,
                             struct rules_match *out)
{
    rules_classify(m->rules, words, out);
    if (it->erased && it->recalled.rule[0]) {
        out->category = it->recalled.category;
        out->rule = model_strdup(m, it->recalled.rule);
        out->phrase = DATAKEY_ERASED;
    }
}

static const char *contact_urgent(model *m, const route_item *it, const fold_text *words)
{
    if (!it->erased)
        return rules_urgent(m->rules, words);
    return it->recalled.urgent[0] ? model_strdup(m, it->recalled.urgent) : NULL;
}

static int ticket_open(route_ctx *c, const route_item *it, int cu, const struct contact *k,
                       const fold_text *words, int *out)
{
    model *m = c->m;
    const char *channel = event_channel_name(k->channel);
    m_ticket t = {.merged_into = -1, .is_new = true, .status = ST_OPEN};
    id_derive2(it->ev->event_id, "ticket", t.id);
    snprintf(t.opened_event_id, sizeof t.opened_event_id, "%s", it->ev->event_id);
    snprintf(t.customer_id, sizeof t.customer_id, "%s", m->cust[cu].id);
    ticket_opener(m, it, cu, t.opened_by);
    struct rules_match match;
    contact_classify(m, it, words, &match);
    t.category = match.category;
    t.rule = match.rule;
    t.phrase = match.phrase;
    t.team = rules_team(m->rules, match.category);
    t.channel = channel;
    t.subject = or_null(k->subject);
    t.urgent_word = contact_urgent(m, it, words);
    t.contacts = 1;
    /* Opened by an ingest event (a contact or a call): its seq is unique
     * and the same in every rebuild. */
    t.number = (int64_t)it->ev->seq;
    t.created = t.updated = it->at;
    t.assigned = t.queued = t.solved = t.closed = t.escalated = MODEL_NONE;
    int ti = model_add_ticket(m, &t);
    *out = ti;
    model_link_ticket(m, cu, ti);
    priority_update(c, ti);
    contact_message(c, it, ti, k);

    Carebus__V1__TicketOpened b = CAREBUS__V1__TICKET_OPENED__INIT;
    b.channel = k->channel;
    b.subject = (char *)(k->subject ? k->subject : "");
    b.contact_event_id = it->ev->event_id;
    b.number = (uint64_t)m->tick[ti].number;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_OPENED;
    e.ticket_opened = &b;
    if (emit(c->em, &e, m->cust[cu].id, m->tick[ti].id, it->at) != 0)
        return -1;
    char opened[ID_LEN];
    memcpy(opened, c->em->last, sizeof opened);
    if (emit_contact_added(c, it, ti, k->channel) != 0 || emit_classified(c, ti, it->at) != 0 ||
        assign_or_queue(c, ti, it->at) != 0)
        return -1;
    return ack_enabled(c->ack, k->channel) ? acknowledge(c, it, ti, opened, k) : 0;
}

/* A contact on an active or reopened ticket: counts, urgency, a late
 * classification, priority. */
static int ticket_join(route_ctx *c, const route_item *it, int t, const struct contact *k,
                       const fold_text *words, bool reopen)
{
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    tk->contacts++;
    if (tk->status == ST_PENDING)
        tk->status = ST_OPEN; /* the customer answered */
    if (!tk->urgent_word)
        tk->urgent_word = contact_urgent(m, it, words);
    bool reclassified = false, moved = false;
    Carebus__V1__Category by_rules = manual_rules_category(tk);
    if (by_rules == CAT_OTHER || !by_rules) {
        struct rules_match match;
        contact_classify(m, it, words, &match);
        if (match.category != CAT_OTHER && tk->cat_override) {
            /* A person chose the category: the rules' view waits for the
             * override to be cleared. */
            tk->cat_rules = match.category;
            tk->rule = match.rule;
            tk->phrase = match.phrase;
        } else if (match.category != CAT_OTHER) {
            tk->category = match.category;
            tk->rule = match.rule;
            tk->phrase = match.phrase;
            reclassified = true;
            const char *team = rules_team(m->rules, match.category);
            /* Only a ticket nobody holds changes team by itself. */
            if (!tk->assignee && !reopen && (!tk->team || strcmp(team, tk->team) != 0)) {
                tk->team = team;
                moved = true;
            }
        }
    }
    tk->dirty = true;
    contact_message(c, it, t, k);
    if (reopen) {
        Carebus__V1__TicketReopened b = CAREBUS__V1__TICKET_REOPENED__INIT;
        b.contact_event_id = it->ev->event_id;
        event e = CAREBUS__V1__ENVELOPE__INIT;
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED;
        e.ticket_reopened = &b;
        if (emit(c->em, &e, tcust(c, t), tid(c, t), it->at) != 0)
            return -1;
    }
    if (emit_contact_added(c, it, t, k->channel) != 0)
        return -1;
    bool reprioritised = priority_update(c, t);
    if ((reclassified || reprioritised) && emit_classified(c, t, it->at) != 0)
        return -1;
    if (reopen) {
        /* The agent who solved it takes it back if they can. */
        int a = model_agent(m, m->tick[t].assignee);
        if (a >= 0 && agent_free_for(&m->agent[a], m->tick[t].team)) {
            agent_take(m, a, t, it->at);
            return emit_assigned(c, t, it->at);
        }
        m->tick[t].assignee = NULL;
        return assign_or_queue(c, t, it->at);
    }
    if (moved) {
        m->tick[t].queued = MODEL_NONE;
        return assign_or_queue(c, t, it->at);
    }
    return 0;
}

/* Adds customer o's survivor to owners unless it is there already; the
 * new count. */
static size_t owners_add(const model *m, int *owners, size_t nown, int o)
{
    o = model_customer_final(m, o);
    for (size_t j = 0; j < nown; j++)
        if (owners[j] == o)
            return nown;
    owners[nown] = o;
    return nown + 1;
}

size_t route_owners(model *m, const route_item *it, int owners[IDENTITY_SET_MAX + 1])
{
    size_t nown = 0;
    if (it->erased) {
        /* What the router decided before, in that order: the survivor
         * first. None when the contact created it (customer_new derives
         * the same id again). */
        if (it->recalled.ncustomers == 0 || model_customer(m, it->recalled.customers[0]) < 0)
            return 0;
        for (size_t i = 0; i < it->recalled.ncustomers; i++) {
            int o = model_customer(m, it->recalled.customers[i]);
            if (o >= 0)
                nown = owners_add(m, owners, nown, o);
        }
        return nown;
    }
    for (size_t i = 0; i < it->ids.n; i++) {
        int o = model_identity(m, it->ids.items[i].kind, it->ids.items[i].value);
        if (o >= 0)
            nown = owners_add(m, owners, nown, o);
    }
    /* The oldest first: the survivor of a merge. */
    for (size_t i = 1; i < nown; i++)
        for (size_t j = i; j > 0; j--) {
            const m_customer *a = &m->cust[owners[j]], *b = &m->cust[owners[j - 1]];
            if (a->created > b->created || (a->created == b->created && strcmp(a->id, b->id) > 0))
                break;
            int tmp = owners[j];
            owners[j] = owners[j - 1];
            owners[j - 1] = tmp;
        }
    return unmerge_owners(m, it, owners, nown);
}

void route_identities_add(route_ctx *c, const route_item *it, int cu)
{
    model *m = c->m;
    for (size_t i = 0; i < it->ids.n; i++) {
        const struct identity *id = &it->ids.items[i];
        if (model_identity(m, id->kind, id->value) >= 0)
            continue;
        arena_grow(&m->a, (void **)&m->idnew, &m->idnewcap, m->nidnew + 1, sizeof *m->idnew);
        m->idnew[m->nidnew++] = (m_identity){.kind = id->kind,
                                             .value = id->value,
                                             .cust = cu,
                                             .origin = m->cust[cu].id,
                                             .created = it->at};
        model_identity_set(m, id->kind, id->value, cu);
        model_identity_set_origin(m, id->kind, id->value, m->cust[cu].id);
    }
}

static int route_contact(route_ctx *c, const route_item *it, const struct contact *k)
{
    model *m = c->m;
    const char *channel = event_channel_name(k->channel);

    /* The customer: the oldest owner, the others merged into it. */
    int owners[IDENTITY_SET_MAX + 1];
    size_t nown = route_owners(m, it, owners);
    int thread = k->ref ? threaded_ticket(m, k->ref, channel) : -1;
    if (thread >= 0) {
        int tc = model_customer_final(m, m->tick[thread].cust);
        size_t j = 0;
        while (j < nown && owners[j] != tc)
            j++;
        if (nown == 0)
            owners[nown++] = tc;
        else if (j == nown)
            thread = -1; /* someone else's thread */
    }

    int cu = nown ? owners[0] : customer_new(c, it, k->name);
    size_t first_merge = m->nmerge;
    for (size_t i = 1; i < nown; i++)
        if (customer_merge(c, it, cu, owners[i]) != 0)
            return -1;
    if (!m->cust[cu].name && !blank(k->name)) {
        m->cust[cu].name = model_strdup(m, k->name);
        m->cust[cu].updated = max64(m->cust[cu].updated, it->at);
        m->cust[cu].dirty = true;
    }
    route_identities_add(c, it, cu);

    /* The ticket: the one it threads to, the customer's active one, the
     * one solved within the window, or a new one. */
    fold_text words;
    if (contact_words(&words, k->subject, k->text) != 0) {
        log_error("router: out of memory folding a contact's text");
        return -1;
    }
    int rc = 0, t = -1;
    bool reopen = false;
    if (thread >= 0 && model_customer_final(m, m->tick[thread].cust) == cu) {
        const m_ticket *tk = &m->tick[thread];
        if (model_ticket_active(tk))
            t = thread;
        else if (tk->status == ST_SOLVED && within_window(m, tk, it->at))
            t = thread, reopen = true;
    }
    if (t < 0 && (t = active_ticket(m, cu)) < 0) {
        int s = solved_ticket(m, cu);
        if (s >= 0 && within_window(m, &m->tick[s], it->at))
            t = s, reopen = true;
    }
    if (t < 0) {
        rc = ticket_open(c, it, cu, k, &words, &t);
    } else {
        if (reopen) {
            m_ticket *tk = &m->tick[t];
            tk->status = ST_OPEN;
            tk->solved = MODEL_NONE;
            tk->reopened++;
            add_note(c, it, t, "ticket.reopened", 0, NULL,
                     "reopened by a contact on %s within the reopen window", channel);
        }
        rc = ticket_join(c, it, t, k, &words, reopen);
    }
    fold_release(&words);
    /* The merges show on the ticket the contact landed on. */
    for (size_t i = first_merge; rc == 0 && t >= 0 && i < m->nmerge; i++) {
        char detail[160];
        snprintf(detail, sizeof detail, "{\"merged_id\":\"%s\",\"survivor_id\":\"%s\"}",
                 m->cust[m->merge[i].merged].id, m->cust[m->merge[i].survivor].id);
        add_note(c, it, t, "customer.merged", 0, detail,
                 "customer %s was merged into customer %s: the same person, known by a "
                 "handle of each",
                 m->cust[m->merge[i].merged].id, m->cust[m->merge[i].survivor].id);
    }
    return rc;
}

/* --- agents' and integrators' events ------------------------------------------------- */

/* The ticket an event names, following merges; -1 (logged) if unknown. */
static int named_ticket(route_ctx *c, const route_item *it)
{
    int t = model_ticket_final(c->m, model_ticket(c->m, it->ev->ticket_id));
    if (t < 0)
        log_write(LOG_WARN, item_fields(it), "%s %s: unknown ticket %s: ignored", it->ev->type,
                  it->ev->event_id, it->ev->ticket_id);
    return t;
}

/* An agent's answer goes to the customer: on the channel the agent chose,
 * else the one the customer last wrote on (else the ticket's), in the
 * thread of the ticket's email. Its message.outbound carries everything
 * courier needs, so that courier never reads the router's tables. */
static int send_reply(route_ctx *c, const route_item *it, int t)
{
    const Carebus__V1__AgentReplied *r = it->ev->agent_replied;
    model *m = c->m;
    struct conversation cv;
    if (conversation(c, t, &cv) != 0)
        return -1;
    struct outbound o = {
        .kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY,
        .channel = r->channel,
        .cause_id = it->ev->event_id,
        .text = r->text,
        .agent_id = r->agent_id,
        .attachments = r->attachments,
        .nattachments = r->n_attachments,
        .lang = language_guess(r->text),
    };
    if (!event_channel_name(o.channel)[0]) {
        const m_message *last = address_last_inbound(cv.msgs, cv.nmsgs, NULL);
        const char *name = last ? last->channel : m->tick[t].channel;
        if (!name || event_channel_parse(name, &o.channel) != 0)
            o.channel = CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    }
    delivery_id_of(o.cause_id, o.delivery_id);
    char subject[1100], mid[ID_LEN + 300];
    const char *external_id = r->external_id;
    if (o.channel == CAREBUS__V1__CHANNEL__CHANNEL_EMAIL) {
        /* carebus's own Message-ID, unless the integrator gave the reply
         * one: the customer's answer threads back by it. */
        if (blank(external_id)) {
            address_message_id(it->ev->event_id, c->email_domain, mid, sizeof mid);
            external_id = model_strdup(m, mid); /* the row outlives mid */
        }
        address_subject(m->tick[t].subject, subject, sizeof subject);
        o.subject = subject;
        o.message_id = external_id;
    }
    if (emit_outbound(c, it, t, &o, &cv) != 0)
        return -1;
    const char *channel = event_channel_name(o.channel);
    m_message *x =
        add_message(c, it, t, channel[0] ? channel : m->tick[t].channel, "out", external_id,
                    o.subject ? model_strdup(m, o.subject) : NULL, r->text, r->agent_id);
    x->attachments = attachments_json(m, r->attachments, r->n_attachments);
    message_outbound(m, x, &o);
    return 0;
}

static int route_reply(route_ctx *c, const route_item *it)
{
    const Carebus__V1__AgentReplied *r = it->ev->agent_replied;
    int t = named_ticket(c, it);
    if (t < 0)
        return 0;
    model *m = c->m;
    if (r->internal_note) {
        const char *channel = event_channel_name(r->channel);
        m_message *x = add_message(c, it, t, channel[0] ? channel : m->tick[t].channel, "note",
                                   r->external_id, NULL, r->text, r->agent_id);
        x->attachments = attachments_json(m, r->attachments, r->n_attachments);
        if (r->n_mentions)
            manual_mentions(c, it, t);
    } else if (send_reply(c, it, t) != 0) {
        return -1;
    }
    int a = model_agent(m, r->agent_id);
    if (a >= 0) {
        m->agent[a].last_active = max64(m->agent[a].last_active, it->at);
        m->agent[a].dirty = true;
    }
    return 0;
}

/* --- delivery statuses --------------------------------------------------------------- */

/* A status to apply once the batch's messages are written (model.h). */
static void add_status(route_ctx *c, const route_item *it, int n, const char *status,
                       const char *delivery_id, Carebus__V1__Channel channel, const char *pmid,
                       const char *recipient, const Google__Protobuf__Timestamp *watermark,
                       const char *code, const char *reason)
{
    model *m = c->m;
    arena_grow(&m->a, (void **)&m->status, &m->statuscap, m->nstatus + 1, sizeof *m->status);
    m_status *x = &m->status[m->nstatus++];
    x->event_id = it->ev->event_id;
    x->n = n;
    x->status = status;
    x->delivery_id = or_null(delivery_id);
    x->channel = event_channel_name(channel);
    x->provider_message_id = or_null(pmid);
    x->recipient = watermark ? or_null(recipient) : NULL;
    x->watermark = watermark ? event_ts_us(watermark) : MODEL_NONE;
    x->code = or_null(code);
    x->reason = or_null(reason);
    x->at = it->at;
}

/* courier: the provider accepted the message. */
static int route_sent(route_ctx *c, const route_item *it)
{
    const Carebus__V1__MessageSent *x = it->ev->message_sent;
    add_status(c, it, 0, "sent", x->delivery_id, x->channel, x->provider_message_id, NULL, NULL,
               NULL, NULL);
    return 0;
}

/* courier (refused at once, by delivery id) or a provider's status
 * webhook (by its message id). */
static int route_failed(route_ctx *c, const route_item *it)
{
    const Carebus__V1__MessageFailed *x = it->ev->message_failed;
    bool by_delivery = !blank(x->delivery_id);
    add_status(c, it, 0, "failed", by_delivery ? x->delivery_id : NULL, x->channel,
               x->provider_message_id, NULL, NULL, x->code, x->reason);
    return 0;
}

/* A provider's delivery or read report: its message ids, and a watermark
 * covering everything sent to the recipient up to it. */
static void delivered_or_read(route_ctx *c, const route_item *it, const char *status,
                              Carebus__V1__Channel channel, char *const *pmids, size_t n,
                              const char *recipient, const Google__Protobuf__Timestamp *watermark)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!blank(pmids[i]))
            add_status(c, it, (int)k++, status, NULL, channel, pmids[i], NULL, NULL, NULL, NULL);
    if (watermark && !blank(recipient))
        add_status(c, it, (int)k, status, NULL, channel, NULL, recipient, watermark, NULL, NULL);
}

static int route_delivered(route_ctx *c, const route_item *it)
{
    const Carebus__V1__MessageDelivered *x = it->ev->message_delivered;
    delivered_or_read(c, it, "delivered", x->channel, x->provider_message_ids,
                      x->n_provider_message_ids, x->recipient, x->watermark);
    return 0;
}

static int route_read(route_ctx *c, const route_item *it)
{
    const Carebus__V1__MessageRead *x = it->ev->message_read;
    delivered_or_read(c, it, "read", x->channel, x->provider_message_ids, x->n_provider_message_ids,
                      x->recipient, x->watermark);
    return 0;
}

static int emit_status(route_ctx *c, const route_item *it, int t, tstatus st, const char *reason)
{
    event e = CAREBUS__V1__ENVELOPE__INIT;
    Carebus__V1__TicketSolved solved = CAREBUS__V1__TICKET_SOLVED__INIT;
    Carebus__V1__TicketClosed closed = CAREBUS__V1__TICKET_CLOSED__INIT;
    if (st == ST_SOLVED) {
        solved.reason = (char *)(reason ? reason : "");
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED;
        e.ticket_solved = &solved;
    } else {
        closed.reason = (char *)(reason ? reason : "");
        e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_CLOSED;
        e.ticket_closed = &closed;
    }
    return emit(c->em, &e, tcust(c, t), tid(c, t), it->at);
}

static int route_status(route_ctx *c, const route_item *it)
{
    const Carebus__V1__TicketStatusChanged *s = it->ev->ticket_status_changed;
    int t = named_ticket(c, it);
    if (t < 0)
        return 0;
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    tstatus to = s->status;
    if (to != ST_OPEN && to != ST_PENDING && to != ST_SOLVED && to != ST_CLOSED) {
        log_write(LOG_WARN, item_fields(it), "ticket.status_changed %s: unknown status %d",
                  it->ev->event_id, (int)to);
        return 0;
    }
    if (to == tk->status)
        return 0;
    if (tk->status == ST_CLOSED) {
        log_write(LOG_INFO, item_fields(it),
                  "ticket.status_changed %s: ticket %s is closed, and stays closed",
                  it->ev->event_id, tk->id);
        return 0;
    }
    bool was_active = model_ticket_active(tk);
    tk->updated = max64(tk->updated, it->at);
    tk->dirty = true;
    if (to == ST_SOLVED || to == ST_CLOSED) {
        if (was_active && tk->assignee)
            agent_release(c, t);
        tk->queued = MODEL_NONE;
        tk->status = to;
        if (to == ST_SOLVED)
            tk->solved = it->at;
        else
            tk->closed = it->at;
        return emit_status(c, it, t, to, s->reason);
    }
    tk->status = to;
    if (was_active)
        return 0; /* open <-> pending */
    /* Solved -> open or pending: an agent reopened it. */
    tk->solved = MODEL_NONE;
    tk->reopened++;
    add_note(c, it, t, "ticket.reopened", 0, NULL, "reopened by %s",
             blank(s->actor) ? "an agent" : s->actor);
    Carebus__V1__TicketReopened b = CAREBUS__V1__TICKET_REOPENED__INIT;
    b.contact_event_id = "";
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED;
    e.ticket_reopened = &b;
    if (emit(c->em, &e, tcust(c, t), tid(c, t), it->at) != 0)
        return -1;
    int a = model_agent(m, tk->assignee);
    if (a >= 0) {
        /* Its agent takes it back, even beyond capacity: they reopened
         * it, or were the last to hold it. */
        agent_take(m, a, t, it->at);
        return emit_assigned(c, t, it->at);
    }
    tk->assignee = NULL;
    return assign_or_queue(c, t, it->at);
}

static bool team_exists(const model *m, const char *team)
{
    /* A team saved through the API is what it says (teams.h). */
    int k = model_team(m, team);
    if (k >= 0 && m->team[k].saved != MODEL_NONE)
        return m->team[k].active;
    if (rules_team_known(m->rules, team))
        return true;
    for (size_t i = 0; i < m->nagent; i++)
        if (in_list(m->agent[i].teams, m->agent[i].nteams, team))
            return true;
    return false;
}

static int route_transfer(route_ctx *c, const route_item *it)
{
    const Carebus__V1__TicketTransferRequested *x = it->ev->ticket_transfer_requested;
    int t = named_ticket(c, it);
    if (t < 0)
        return 0;
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    if (!model_ticket_active(tk)) {
        log_write(LOG_INFO, item_fields(it), "transfer %s: ticket %s is %s: ignored",
                  it->ev->event_id, tk->id, event_ticket_status_name(tk->status));
        return 0;
    }
    if (blank(x->to_team) || !team_exists(m, x->to_team)) {
        log_write(LOG_WARN, item_fields(it), "transfer %s: unknown team \"%.64s\": ignored",
                  it->ev->event_id, x->to_team ? x->to_team : "");
        return 0;
    }
    if (tk->team && strcmp(tk->team, x->to_team) == 0)
        return 0;
    const char *from = tk->team ? tk->team : "";
    if (tk->assignee)
        agent_release(c, t);
    tk->assignee = NULL;
    tk->team = x->to_team;
    tk->queued = MODEL_NONE;
    tk->updated = max64(tk->updated, it->at);
    tk->dirty = true;
    Carebus__V1__TicketTransferred b = CAREBUS__V1__TICKET_TRANSFERRED__INIT;
    b.from_team = (char *)from;
    b.to_team = x->to_team;
    b.reason = x->reason;
    b.actor = x->actor;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFERRED;
    e.ticket_transferred = &b;
    if (emit(c->em, &e, tcust(c, t), tid(c, t), it->at) != 0)
        return -1;
    char *d =
        note_detail(json_pack("{s:s?, s:s?, s:s?, s:s?}", "from_team", from, "to_team", x->to_team,
                              "reason", or_null(x->reason), "actor", or_null(x->actor)));
    add_note(c, it, t, "ticket.transferred", 0, d, "transferred from %s to %s%s%.300s",
             from[0] ? from : "no team", x->to_team, blank(x->reason) ? "" : ": ",
             blank(x->reason) ? "" : x->reason);
    free(d);
    return assign_or_queue(c, t, it->at);
}

static int route_escalation(route_ctx *c, const route_item *it)
{
    const Carebus__V1__SlaEscalation *x = it->ev->sla_escalation;
    int t = named_ticket(c, it);
    if (t < 0)
        return 0;
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    if (!model_ticket_active(tk)) {
        log_write(LOG_INFO, item_fields(it), "escalation %s: ticket %s is %s: nothing to escalate",
                  it->ev->event_id, tk->id, event_ticket_status_name(tk->status));
        return 0;
    }
    int rank = (int)x->priority >= 1 && (int)x->priority <= 4 ? (int)x->priority
                                                              : (tk->rank < 4 ? tk->rank + 1 : 4);
    if (rank > tk->escalated_rank)
        tk->escalated_rank = rank;
    tk->escalated = it->at;
    tk->updated = max64(tk->updated, it->at);
    tk->dirty = true;
    const char *from = tk->assignee;
    int lead = tk->team ? best_lead(m, tk->team) : -1;
    bool handed = lead >= 0 && (!from || strcmp(from, m->agent[lead].id) != 0);
    if (handed) {
        if (from)
            agent_release(c, t);
        agent_take(m, lead, t, it->at);
    }
    bool reprioritised = priority_update(c, t);
    tk = &m->tick[t];
    Carebus__V1__TicketEscalated b = CAREBUS__V1__TICKET_ESCALATED__INIT;
    b.to_team = (char *)(tk->team ? tk->team : "");
    b.to_agent_id = (char *)(lead >= 0 ? m->agent[lead].id : "");
    b.priority = (Carebus__V1__Priority)tk->rank;
    b.from_agent_id = (char *)(from ? from : "");
    b.reason = x->reason;
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_ESCALATED;
    e.ticket_escalated = &b;
    if (emit(c->em, &e, tcust(c, t), tid(c, t), it->at) != 0)
        return -1;
    char *d = note_detail(json_pack("{s:s?, s:s?, s:s?, s:s?}", "to_agent_id",
                                    lead >= 0 ? m->agent[lead].id : NULL, "from_agent_id", from,
                                    "priority", rules_priority_name(tk->rank), "reason",
                                    or_null(x->reason)));
    add_note(c, it, t, "ticket.escalated", 0, d, "escalated (SLA) to %s, priority %s",
             lead >= 0 ? m->agent[lead].id : "no lead: the team keeps it",
             rules_priority_name(tk->rank));
    free(d);
    if (handed && emit_assigned(c, t, it->at) != 0)
        return -1;
    if (reprioritised && emit_classified(c, t, it->at) != 0)
        return -1;
    return 0;
}

static const char **copy_strings(model *m, char **s, size_t n)
{
    const char **out = arena_calloc(&m->a, n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = model_strdup(m, s[i] ? s[i] : "");
    return out;
}

static int route_presence(route_ctx *c, const route_item *it)
{
    const Carebus__V1__AgentPresence *p = it->ev->agent_presence;
    model *m = c->m;
    int a = model_agent(m, p->agent_id);
    if (a < 0) {
        m_agent n = {.id = model_strdup(m, p->agent_id),
                     .presence = CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE,
                     .last_active = MODEL_NONE,
                     .active = true,
                     .saved = MODEL_NONE,
                     .offline_since = MODEL_NONE};
        n.teams = n.leads = arena_calloc(&m->a, 1, sizeof *n.teams);
        a = model_add_agent(m, &n);
    }
    m_agent *ag = &m->agent[a];
    bool was_online = ag->presence == ONLINE;
    Carebus__V1__Presence pr = p->presence;
    if (pr != ONLINE && pr != CAREBUS__V1__PRESENCE__PRESENCE_AWAY)
        pr = CAREBUS__V1__PRESENCE__PRESENCE_OFFLINE;
    ag->presence = pr;
    offline_track(ag, it);
    /* An agent saved through the API is what it says: a presence is then
     * presence only (agents.h). */
    bool seed = ag->saved == MODEL_NONE;
    if (seed)
        ag->capacity = p->capacity > 100000 ? 100000 : (int)p->capacity;
    if (seed && !blank(p->name))
        ag->name = model_strdup(m, p->name);
    /* A presence states the whole picture: teams and leads as given. */
    if (seed) {
        ag->teams = copy_strings(m, p->teams, p->n_teams);
        ag->nteams = p->n_teams;
        ag->leads = copy_strings(m, p->leads, p->n_leads);
        ag->nleads = p->n_leads;
    }
    if (pr == ONLINE && !was_online)
        ag->last_active = max64(ag->last_active, it->at);
    ag->updated = it->at;
    ag->dirty = true;
    if (pr == ONLINE)
        drain_add_teams(c, ag->teams, ag->nteams);
    return 0;
}

static int route_profile(route_ctx *c, const route_item *it)
{
    const Carebus__V1__CustomerProfileUpdated *p = it->ev->customer_profile_updated;
    model *m = c->m;
    int cu = model_customer_final(m, model_customer(m, it->ev->customer_id));
    if (cu < 0) {
        log_write(LOG_WARN, item_fields(it), "customer.profile_updated %s: unknown customer %s",
                  it->ev->event_id, it->ev->customer_id);
        return 0;
    }
    m_customer *x = &m->cust[cu];
    if (!blank(p->name))
        x->name = model_strdup(m, p->name);
    if (p->segment >= CAREBUS__V1__SEGMENT__SEGMENT_REGULAR &&
        p->segment <= CAREBUS__V1__SEGMENT__SEGMENT_WHOLESALE)
        x->segment = p->segment;
    if (p->status == CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_ACTIVE ||
        p->status == CAREBUS__V1__CUSTOMER_STATUS__CUSTOMER_STATUS_CHURNED)
        x->status = p->status;
    if (p->n_attributes) {
        if (!x->attr_patch && !(x->attr_patch = json_object()))
            return -1;
        for (size_t i = 0; i < p->n_attributes; i++)
            if (p->attributes[i]->key &&
                json_object_set_new(
                    x->attr_patch, p->attributes[i]->key,
                    json_string(p->attributes[i]->value ? p->attributes[i]->value : "")) != 0)
                return -1;
    }
    x->updated = max64(x->updated, it->at);
    x->dirty = true;
    /* A new segment re-prioritises the customer's active tickets. */
    for (size_t i = 0; i < m->cust[cu].ntickets; i++) {
        int t = m->cust[cu].tickets[i];
        if (model_ticket_active(&m->tick[t]) && m->tick[t].merged_into < 0 &&
            priority_update(c, t) && emit_classified(c, t, it->at) != 0)
            return -1;
    }
    return 0;
}

static int route_contact_received(route_ctx *c, const route_item *it)
{
    const Carebus__V1__ContactReceived *r = it->ev->contact_received;
    struct contact k = {
        .channel = r->channel,
        .name = r->customer ? r->customer->name : NULL,
        .text = r->text,
        .subject = r->subject,
        .external_id = r->external_id,
        .ref = r,
    };
    return route_contact(c, it, &k);
}

/* A finished call is a phone contact: the caller's number is the handle,
 * the agent's note its text. */
static int route_call(route_ctx *c, const route_item *it)
{
    const Carebus__V1__CallEnded *r = it->ev->call_ended;
    struct contact k = {
        .channel = CAREBUS__V1__CHANNEL__CHANNEL_PHONE,
        .text = r->note,
        .external_id = r->external_id,
        .agent_id = r->agent_id,
    };
    return route_contact(c, it, &k);
}

/* --- the table ------------------------------------------------------------------------- */

typedef int (*route_fn)(route_ctx *c, const route_item *it);

struct route_entry {
    const char *stream; /* the stream it is read from; NULL: any */
    route_fn fn;
};

/* What the router reacts to, like Redis's command table: the one place an
 * event the router handles is declared. Other bodies (its own ticket.*
 * events, SLA warnings and breaches, surveys) change nothing. Escalations
 * come from "sla": order.h reads them from the log when their turn comes,
 * so the consumer delivers none (an "ingest" escalation is routed like
 * one). Delivery statuses fold in any order (router.delivery_apply), so
 * those of the "courier" stream need no place among the others. */
static const struct route_entry route_table[] = {
    [CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED] = {"ingest", route_contact_received},
    [CAREBUS__V1__ENVELOPE__BODY_CALL_ENDED] = {"ingest", route_call},
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED] = {"ingest", route_reply},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_STATUS_CHANGED] = {"ingest", route_status},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_TRANSFER_REQUESTED] = {"ingest", route_transfer},
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE] = {"ingest", route_presence},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED] = {"ingest", route_profile},
    [CAREBUS__V1__ENVELOPE__BODY_SLA_ESCALATION] = {"ingest", route_escalation},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_MERGE_REQUESTED] = {"ingest", merge_tickets},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_MERGE_REQUESTED] = {"ingest", merge_customers},
    /* A batch of its own (route_barrier) */
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGE_REQUESTED] = {"ingest", unmerge_apply},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASURE_REQUESTED] = {"ingest", erase_apply},
    [CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_IMPORTED] = {"ingest", import_apply},
    [CAREBUS__V1__ENVELOPE__BODY_MESSAGE_SENT] = {"courier", route_sent},
    [CAREBUS__V1__ENVELOPE__BODY_MESSAGE_DELIVERED] = {"ingest", route_delivered},
    [CAREBUS__V1__ENVELOPE__BODY_MESSAGE_READ] = {"ingest", route_read},
    /* courier's refusals and providers' later reports */
    [CAREBUS__V1__ENVELOPE__BODY_MESSAGE_FAILED] = {NULL, route_failed},
    /* the work API (agents.h, teams.h, manual.h, canned.h) and the
     * offline timer's decisions (offline.h) */
    [CAREBUS__V1__ENVELOPE__BODY_AGENT_SAVED] = {"ingest", agents_saved},
    [CAREBUS__V1__ENVELOPE__BODY_TEAM_SAVED] = {"ingest", teams_saved},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_ASSIGN_REQUESTED] = {"ingest", manual_assign},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_UPDATE_REQUESTED] = {"ingest", manual_update},
    [CAREBUS__V1__ENVELOPE__BODY_TICKET_UNASSIGNED] = {"ingest", offline_unassigned},
    [CAREBUS__V1__ENVELOPE__BODY_CANNED_SAVED] = {"ingest", canned_saved},
    [CAREBUS__V1__ENVELOPE__BODY_CANNED_DELETED] = {"ingest", canned_deleted},
};

static const struct route_entry *route_entry_of(Carebus__V1__Envelope__BodyCase bc)
{
    size_t i = (size_t)bc;
    return i < sizeof route_table / sizeof route_table[0] && route_table[i].fn ? &route_table[i]
                                                                               : NULL;
}

bool route_barrier(const route_item *it)
{
    return !it->skip &&
           (it->ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_UNMERGE_REQUESTED ||
            it->ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASURE_REQUESTED);
}

int route_keys_load(model *m, route_keys *k, const route_item *it)
{
    if (!route_barrier(it) ||
        it->ev->body_case == CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_ERASURE_REQUESTED)
        return 0;
    const struct unmerge_plan *p;
    if (unmerge_load(m, it, &p) != 0)
        return -1;
    for (size_t i = 0; p && i < p->ncustomers; i++)
        keys_push(m, &k->customers, &k->ncustomers, &k->ccustomers, p->customers[i]);
    for (size_t i = 0; p && i < p->ntickets; i++)
        keys_push(m, &k->tickets, &k->ntickets, &k->ctickets, p->tickets[i]);
    return 0;
}

bool route_handles(Carebus__V1__Envelope__BodyCase bc, const char **stream)
{
    const struct route_entry *e = route_entry_of(bc);
    if (e && stream)
        *stream = e->stream;
    return e != NULL;
}

int route_apply(route_ctx *c, const route_item *it)
{
    const struct route_entry *entry = route_entry_of(it->ev->body_case);
    route_fn fn = entry ? entry->fn : NULL;
    if (it->skip || !fn)
        return 0;
    emit_cause(c->em, it->ev->event_id);
    c->ndrain = 0;
    int rc = fn(c, it);
    if (rc == 0)
        rc = drain(c, it->at);
    return rc;
}

/* --- what route.c lends the work API's handlers (route.h) ------------------------ */

bool route_blank(const char *s)
{
    return blank(s);
}

json_t *route_item_fields(const route_item *it)
{
    return item_fields(it);
}

int route_named_ticket(route_ctx *c, const route_item *it)
{
    return named_ticket(c, it);
}

const char *route_ticket_customer(route_ctx *c, int t)
{
    return tcust(c, t);
}

bool route_team_exists(const model *m, const char *team)
{
    return team_exists(m, team);
}

void route_agent_release(route_ctx *c, int t)
{
    agent_release(c, t);
}

void route_agent_take(route_ctx *c, int a, int t, int64_t at)
{
    agent_take(c->m, a, t, at);
}

int route_emit_assigned(route_ctx *c, int t, int64_t at, const char *actor)
{
    return emit_assigned_by(c, t, at, actor);
}

int route_assign_or_queue(route_ctx *c, int t, int64_t at)
{
    return assign_or_queue(c, t, at);
}

bool route_priority_update(route_ctx *c, int t)
{
    return priority_update(c, t);
}

int route_emit_classified(route_ctx *c, int t, int64_t at)
{
    return emit_classified(c, t, at);
}

void route_drain_teams(route_ctx *c, const char *const *teams, size_t n)
{
    drain_add_teams(c, teams, n);
}

void route_note(route_ctx *c, const route_item *it, int t, const char *kind, int ord,
                const char *detail, const char *text)
{
    add_note(c, it, t, kind, ord, detail, "%s", text);
}

char *route_note_detail(json_t *o)
{
    return note_detail(o);
}

/* ... and what it lends the merges, unmerges and imports (route.h) */

int route_customer_new(route_ctx *c, const route_item *it, const char *name)
{
    return customer_new(c, it, name);
}

int route_customer_merge(route_ctx *c, const route_item *it, int s, int o)
{
    return customer_merge(c, it, s, o);
}

int route_ticket_merge(route_ctx *c, const route_item *it, int f, int t, const char *actor,
                       const char *reason)
{
    return ticket_merge_by(c, it, f, t, actor, reason);
}

int route_active_ticket(const model *m, int cu)
{
    return active_ticket(m, cu);
}

int route_reopen(route_ctx *c, const route_item *it, int t, const char *why)
{
    model *m = c->m;
    m_ticket *tk = &m->tick[t];
    tk->status = ST_OPEN;
    tk->solved = tk->closed = tk->queued = MODEL_NONE;
    tk->reopened++;
    tk->updated = max64(tk->updated, it->at);
    tk->dirty = true;
    /* After the merge's notes of the same cause. */
    add_note(c, it, t, "ticket.reopened", 2, NULL, "%s", why);
    Carebus__V1__TicketReopened b = CAREBUS__V1__TICKET_REOPENED__INIT;
    b.contact_event_id = "";
    event e = CAREBUS__V1__ENVELOPE__INIT;
    e.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_REOPENED;
    e.ticket_reopened = &b;
    if (emit(c->em, &e, tcust(c, t), tid(c, t), it->at) != 0)
        return -1;
    int a = model_agent(m, tk->assignee);
    if (a >= 0 && agent_free_for(&m->agent[a], tk->team)) {
        agent_take(m, a, t, it->at);
        return emit_assigned(c, t, it->at);
    }
    m->tick[t].assignee = NULL;
    return assign_or_queue(c, t, it->at);
}
