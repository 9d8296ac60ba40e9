/* outbound_load — messages for courier, straight into the log (and the bus),
 * as the router writes them: for courier's bench, without the router in the
 * way.
 *
 *   outbound_load --subscribe URL [--channel chat]
 *   outbound_load [--messages N] [--batch N] [--rate PER_S] [--bus ENDPOINT]
 *                 [--out FILE] [--channel chat]
 *
 * CAREBUS_PG names the database (migrations are applied first). With
 * --subscribe, it appends one subscription.saved to the "ingest" stream: the
 * integrator at URL owns the channel (message.outbound, integrator mode)
 * and the message goes to it as a signed webhook. Otherwise it appends
 * message.outbound events (kind reply, each to its own ticket) to the
 * "router" stream in transactions of --batch; with --rate they are paced at
 * that many per second (a fixed offered rate: a slow courier does not slow
 * the load), each committed batch is published on --bus (a PUB socket bound
 * there, where courier subscribes for "router"), and --out gets one line per
 * message, "<commit_ns> <delivery_id>", commit_ns being CLOCK_REALTIME when
 * the batch's commit returned (comparable with provider_sink's arrival
 * times on this machine).
 *
 * Prints one line of JSON: {"messages","seconds","appended_per_s"}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "config.h"
#include "db.h"
#include "eventlog.h"
#include "id.h"
#include "log.h"
#include "timeutil.h"
#include "tool.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int subscribe(db *d, const char *url, const char *channel)
{
    char id[ID_LEN];
    id_new(id);
    char *types[] = {"message.outbound"};
    char *channels[] = {(char *)channel};
    Carebus__V1__SubscriptionSaved s = CAREBUS__V1__SUBSCRIPTION_SAVED__INIT;
    s.subscription_id = id;
    s.url = (char *)url;
    s.event_types = types;
    s.n_event_types = 1;
    s.channels = channels;
    s.n_channels = 1;
    /* Fixed for the bench: the receiver does not check it. */
    s.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    s.active = true;
    s.actor = "bench";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_SUBSCRIPTION_SAVED;
    ev.subscription_saved = &s;
    struct eventlog_entry e = {.ev = &ev};
    int rc = eventlog_append(d, "ingest", &e, 1);
    eventlog_entry_release(&e);
    if (rc == 0)
        printf("{\"subscription_id\":\"%s\"}\n", id);
    return rc;
}

int main(int argc, char **argv)
{
    log_init("outbound_load");
    long messages = tool_arg_long(argc, argv, "--messages", 10000);
    long batch = tool_arg_long(argc, argv, "--batch", 500);
    long rate = tool_arg_long(argc, argv, "--rate", 0);
    const char *endpoint = tool_arg_str(argc, argv, "--bus");
    const char *out_path = tool_arg_str(argc, argv, "--out");
    const char *url = tool_arg_str(argc, argv, "--subscribe");
    const char *channel = tool_arg_str(argc, argv, "--channel");
    channel = channel ? channel : "chat";
    Carebus__V1__Channel ch;
    if (batch < 1 || batch > 5000 || messages < 0 || event_channel_parse(channel, &ch) != 0) {
        fprintf(stderr, "outbound_load: bad arguments\n");
        return 2;
    }
    db *d = db_new(config_str("PG", CONFIG_DEFAULT_PG), "outbound_load");
    if (!d) {
        fprintf(stderr, "outbound_load: out of memory\n");
        return 1;
    }
    db_set_apply_migrations(d, true);
    if (db_ensure(d) != 0) {
        fprintf(stderr, "outbound_load: cannot connect to PostgreSQL\n");
        db_destroy(&d);
        return 1;
    }
    if (url) {
        int rc = subscribe(d, url, channel);
        db_destroy(&d);
        return rc == 0 ? 0 : 1;
    }
    bus *b = NULL;
    if (endpoint) {
        b = bus_new();
        if (!b || bus_bind(b, endpoint) != 0) {
            fprintf(stderr, "outbound_load: cannot bind %s\n", endpoint);
            return 1;
        }
        usleep(300000); /* let the subscriber join */
    }
    FILE *out = out_path ? fopen(out_path, "w") : NULL;
    if (out_path && !out) {
        fprintf(stderr, "outbound_load: cannot write %s\n", out_path);
        return 1;
    }

    size_t nb = (size_t)batch;
    struct eventlog_entry *e = calloc(nb, sizeof *e);
    event *evs = calloc(nb, sizeof *evs);
    Carebus__V1__MessageOutbound *body = calloc(nb, sizeof *body);
    Carebus__V1__CustomerRef *ref = calloc(nb, sizeof *ref);
    Google__Protobuf__Timestamp *ts = calloc(nb, sizeof *ts);
    char(*ids)[4][ID_LEN] = calloc(nb, sizeof *ids);
    char(*handle)[48] = calloc(nb, sizeof *handle);
    if (!e || !evs || !body || !ref || !ts || !ids || !handle)
        return 1;
    int64_t t0 = time_now_us();
    long done = 0;
    while (done < messages) {
        long n = messages - done < batch ? messages - done : batch;
        if (rate > 0)
            tool_sleep_until_us(t0 + (int64_t)((double)(done + n) * 1e6 / (double)rate));
        int64_t now = time_now_us();
        for (long k = 0; k < n; k++) {
            long i = done + k;
            /* delivery, cause, ticket, customer */
            for (int j = 0; j < 4; j++)
                id_new(ids[k][j]);
            carebus__v1__customer_ref__init(&ref[k]);
            carebus__v1__message_outbound__init(&body[k]);
            carebus__v1__envelope__init(&evs[k]);
            google__protobuf__timestamp__init(&ts[k]);
            snprintf(handle[k], sizeof handle[k], "chat-user-%ld", i);
            ref[k].name = "Khách hàng";
            ref[k].handle = handle[k];
            body[k].delivery_id = ids[k][0];
            body[k].cause_event_id = ids[k][1];
            body[k].kind = CAREBUS__V1__OUTBOUND_KIND__OUTBOUND_KIND_REPLY;
            body[k].channel = ch;
            body[k].recipient = &ref[k];
            body[k].text = "Dạ, em đã kiểm tra: đơn hàng của anh sẽ được giao ngày mai.";
            body[k].language = "vi";
            event_ts_set(&ts[k], now);
            evs[k].body_case = CAREBUS__V1__ENVELOPE__BODY_MESSAGE_OUTBOUND;
            evs[k].message_outbound = &body[k];
            evs[k].occurred_at = &ts[k];
            evs[k].ticket_id = ids[k][2];
            evs[k].customer_id = ids[k][3];
            eventlog_entry_release(&e[k]);
            memset(&e[k], 0, sizeof e[k]);
            e[k].ev = &evs[k];
        }
        /* One statement: committed when it returns. */
        if (eventlog_append(d, "router", e, (size_t)n) != 0) {
            fprintf(stderr, "outbound_load: append failed\n");
            return 1;
        }
        int64_t committed = now_ns();
        /* As the router publishes: the bytes the log handed back. */
        for (long k = 0; b && k < n; k++)
            bus_publish_bytes(b, "router", e[k].wire, e[k].wire_len);
        for (long k = 0; out && k < n; k++)
            fprintf(out, "%lld %s\n", (long long)committed, ids[k][0]);
        done += n;
    }
    double secs = (double)(time_now_us() - t0) / 1e6;
    printf("{\"messages\":%ld,\"seconds\":%.3f,\"appended_per_s\":%.0f}\n", done, secs,
           secs > 0 ? (double)done / secs : 0.0);
    if (out)
        fclose(out);
    if (b) {
        usleep(200000);
        bus_destroy(&b);
    }
    db_destroy(&d);
    for (size_t k = 0; k < nb; k++)
        eventlog_entry_release(&e[k]);
    free(e);
    free(evs);
    free(body);
    free(ref);
    free(ts);
    free(ids);
    free(handle);
    return 0;
}
