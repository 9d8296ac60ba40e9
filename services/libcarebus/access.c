/* access.c — the access decision: pure functions of a grant and facts.
 *
 * Each refusal fills the same struct, whose message is what the 403 says;
 * the order of the checks is the order a caller would fix them in (first
 * the scope, then which tickets, then whose name).
 */
#include "access.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool deny(struct access_denial *d, enum access_why why, unsigned scope, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static bool deny(struct access_denial *d, enum access_why why, unsigned scope, const char *field,
                 const char *fmt, ...)
{
    d->why = why;
    d->scope = scope;
    d->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    return false;
}

static bool allow(struct access_denial *d)
{
    d->why = ACCESS_OK;
    d->scope = 0;
    d->field = NULL;
    d->message[0] = '\0';
    return true;
}

static bool given(const char *s)
{
    return s && *s;
}

static bool limited(const struct access_grant *g)
{
    return g->channels != ACCESS_ALL_CHANNELS;
}

/* An agent key may act on its own tickets and its teams' queues. */
static bool ticket_is_agents(const struct access_grant *g, const struct access_ticket *t)
{
    if (given(t->assignee) && strcmp(t->assignee, g->agent_id) == 0)
        return true;
    if (!given(t->team))
        return false;
    for (size_t i = 0; i < t->n_agent_teams; i++)
        if (t->agent_teams[i] && strcmp(t->agent_teams[i], t->team) == 0)
            return true;
    return false;
}

bool access_decide(const struct access_grant *g, unsigned need, const struct access_facts *f,
                   struct access_denial *d)
{
    if (need == SCOPE_PUBLIC)
        return allow(d);
    if (!scope_grants(g->scopes, need)) {
        const char *name = scope_name(need);
        return deny(d, ACCESS_SCOPE, need, NULL, "this key lacks the \"%s\" scope",
                    name ? name : "?");
    }
    const struct access_ticket *t = f ? f->ticket : NULL;
    if (t && need == SCOPE_READ && limited(g) && !t->within_channels)
        return deny(d, ACCESS_TICKET_CHANNELS, 0, NULL,
                    "this API key is limited to some channels, and this ticket has contacts "
                    "through others");
    bool bound = given(g->agent_id);
    if (t && need == SCOPE_AGENT && bound && !(g->scopes & SCOPE_SUPERVISOR) &&
        !ticket_is_agents(g, t))
        return deny(d, ACCESS_NOT_ITS_TICKET, SCOPE_SUPERVISOR, NULL,
                    "this key acts as agent \"%.128s\", and this ticket is assigned neither to "
                    "that agent nor to one of its teams; acting on it needs the \"supervisor\" "
                    "scope",
                    g->agent_id);
    if (f && bound && given(f->as_agent) && strcmp(f->as_agent, g->agent_id) != 0)
        return deny(d, ACCESS_OTHER_AGENT, 0, f->as_field,
                    "this key acts as agent \"%.128s\" only, not as \"%.128s\"", g->agent_id,
                    f->as_agent);
    return allow(d);
}

bool access_within(const struct access_grant *g, const struct access_grant *k,
                   struct access_denial *d)
{
    unsigned beyond = k->scopes & SCOPE_ALL & ~g->scopes;
    if (beyond) {
        unsigned first = beyond & -beyond;
        const char *name = scope_name(first);
        return deny(d, ACCESS_SCOPE, first, "scopes",
                    "this key lacks the \"%s\" scope, so it may not manage a key that has it",
                    name ? name : "?");
    }
    if ((k->channels & ~g->channels) != 0)
        return deny(d, ACCESS_CHANNEL, 0, "channels",
                    "this API key is limited to some channels, and that key is for %s",
                    k->channels == ACCESS_ALL_CHANNELS ? "every channel" : "others too");
    if (given(g->agent_id) && strcmp(k->agent_id, g->agent_id) != 0)
        return deny(d, ACCESS_OTHER_AGENT, 0, "agent_id",
                    "this key acts as agent \"%.128s\" only, and that key as \"%.128s\"",
                    g->agent_id, given(k->agent_id) ? k->agent_id : "any agent");
    if (g->expires_us && (!k->expires_us || k->expires_us > g->expires_us))
        return deny(d, ACCESS_OUTLIVES, 0, "expires_at", "this key expires, and that key %s",
                    k->expires_us ? "expires later" : "never does");
    return allow(d);
}

bool access_channel(const struct access_grant *g, Carebus__V1__Channel c, struct access_denial *d)
{
    if ((unsigned)c < 32 && (g->channels >> c & 1))
        return allow(d);
    return deny(d, ACCESS_CHANNEL, 0, "channel",
                "this API key is not allowed to use the channel \"%s\"", event_channel_name(c));
}

bool access_all_channels(const struct access_grant *g, struct access_denial *d)
{
    if (!limited(g))
        return allow(d);
    return deny(d, ACCESS_ALL_CHANNELS_NEEDED, 0, NULL,
                "this API key is limited to some channels; this operation needs a key for every "
                "channel");
}

bool access_event(const struct access_grant *g, bool has_channel, Carebus__V1__Channel c,
                  struct access_denial *d)
{
    if (!limited(g) || (has_channel && (unsigned)c < 32 && (g->channels >> c & 1)))
        return allow(d);
    return deny(d, ACCESS_CHANNEL, 0, NULL,
                "this API key is limited to some channels, and this event is not of one of them");
}

unsigned access_agent_scopes(const char *role)
{
    bool sup = role && strcmp(role, "supervisor") == 0;
    return SCOPE_READ | SCOPE_AGENT | (sup ? SCOPE_SUPERVISOR : 0u);
}

const char *access_actor(const struct access_grant *g)
{
    return given(g->agent_id) ? g->agent_id : g->id;
}

bool access_event_channel(const event *ev, Carebus__V1__Channel *c)
{
    switch (ev->body_case) {
    case CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED:
        *c = ev->contact_received->channel;
        return true;
    case CAREBUS__V1__ENVELOPE__BODY_CALL_ENDED:
        *c = CAREBUS__V1__CHANNEL__CHANNEL_PHONE;
        return true;
    case CAREBUS__V1__ENVELOPE__BODY_AGENT_REPLIED:
        *c = ev->agent_replied->channel;
        return *c != CAREBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    default:
        return false;
    }
}

uint32_t access_channels_mask(const char *list, int *unknown)
{
    if (unknown)
        *unknown = 0;
    if (!list)
        return ACCESS_ALL_CHANNELS;
    uint32_t mask = 0;
    while (*list) {
        size_t n = strcspn(list, ",");
        char name[32];
        Carebus__V1__Channel c;
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), list);
        if (event_channel_parse(name, &c) == 0 && (unsigned)c < 32)
            mask |= UINT32_C(1) << c;
        else if (n && unknown)
            (*unknown)++;
        list += n;
        if (*list == ',')
            list++;
    }
    return mask;
}

const char *access_channels_param(const struct access_grant *g, char *out, size_t n)
{
    if (!limited(g) || n < 3)
        return NULL;
    size_t len = 0;
    out[len++] = '{';
    for (unsigned c = 0; c < 32; c++) {
        if (!(g->channels >> c & 1))
            continue;
        const char *name = event_channel_name((Carebus__V1__Channel)c);
        /* Names are the schema's: lower-case letters, nothing to quote. */
        size_t k = strlen(name);
        if (len + k + 3 > n)
            return NULL;
        if (len > 1)
            out[len++] = ',';
        memcpy(out + len, name, k);
        len += k;
    }
    out[len++] = '}';
    out[len] = '\0';
    return out;
}
