/* router_load — contacts for the router, straight into the log (and the
 * bus), as channel-ingest would write them: for the router's bench and
 * its load tests, without HTTP in the way.
 *
 *   router_load [--agents N] [--customers N] [--first-customer N]
 *               [--contacts N] [--batch N] [--rate PER_S] [--bus ENDPOINT]
 *               [--start N]
 *
 * CAREBUS_PG names the database. Agents come first (agent.presence,
 * online, capacity 1000 so that nobody waits in a queue, teams: all of the
 * default configuration's). Contacts then go to the "ingest" stream in
 * transactions of --batch; with --rate they are paced at that many per
 * second (fixed rate, not closed loop: a slow consumer does not slow the
 * offered load) and each committed batch is published on --bus (a PUB
 * socket bound there, where the router subscribes for "ingest"). Contact i
 * (numbered from --start) is from customer first + i % customers (a phone,
 * and a handle per channel), so a customer's later contacts join their open
 * ticket.
 *
 * Prints one line of JSON: {"contacts","seconds","appended_per_s"}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "config.h"
#include "db.h"
#include "eventlog.h"
#include "log.h"
#include "timeutil.h"
#include "tool.h"

static const char *const texts[] = {
    "Tôi cần hỗ trợ",
    "Đơn hàng của tôi bị giao chậm, xin kiểm tra giúp",
    "Sản phẩm bị lỗi, tôi muốn đổi trả",
    "Tôi muốn hỏi về chương trình khuyến mãi",
    "Tài khoản của tôi không đăng nhập được",
    "Hóa đơn tháng này bị tính sai tiền",
    "My router keeps crashing, urgent please",
    "Cảm ơn, vấn đề đã được giải quyết",
};

static const Carebus__V1__Channel channels[] = {
    CAREBUS__V1__CHANNEL__CHANNEL_ZALO,     CAREBUS__V1__CHANNEL__CHANNEL_FACEBOOK,
    CAREBUS__V1__CHANNEL__CHANNEL_CHAT,     CAREBUS__V1__CHANNEL__CHANNEL_EMAIL,
    CAREBUS__V1__CHANNEL__CHANNEL_PHONE,    CAREBUS__V1__CHANNEL__CHANNEL_INSTAGRAM,
    CAREBUS__V1__CHANNEL__CHANNEL_WHATSAPP, CAREBUS__V1__CHANNEL__CHANNEL_SMS,
};

static int add_agents(db *d, long n, int64_t at)
{
    static char *teams[] = {"support", "technical",          "complaints", "returns-warranty",
                            "loyalty", "account-management", "sales"};
    for (long i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "agent-%03ld", i);
        Carebus__V1__AgentPresence p = CAREBUS__V1__AGENT_PRESENCE__INIT;
        p.agent_id = id;
        p.presence = CAREBUS__V1__PRESENCE__PRESENCE_ONLINE;
        p.capacity = 1000;
        p.teams = teams;
        p.n_teams = sizeof teams / sizeof teams[0];
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        event_ts_set(&ts, at);
        event ev = CAREBUS__V1__ENVELOPE__INIT;
        ev.body_case = CAREBUS__V1__ENVELOPE__BODY_AGENT_PRESENCE;
        ev.agent_presence = &p;
        ev.occurred_at = &ts;
        struct eventlog_entry e = {.ev = &ev};
        int rc = eventlog_append(d, "ingest", &e, 1);
        eventlog_entry_release(&e);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    log_init("router_load");
    long agents = tool_arg_long(argc, argv, "--agents", 50);
    long customers = tool_arg_long(argc, argv, "--customers", 10000);
    long contacts = tool_arg_long(argc, argv, "--contacts", 10000);
    long batch = tool_arg_long(argc, argv, "--batch", 500);
    long rate = tool_arg_long(argc, argv, "--rate", 0);
    long start = tool_arg_long(argc, argv, "--start", 0);
    long first = tool_arg_long(argc, argv, "--first-customer", 0);
    const char *endpoint = tool_arg_str(argc, argv, "--bus");
    if (customers < 1 || batch < 1 || batch > 5000 || contacts < 0) {
        fprintf(stderr, "router_load: bad arguments\n");
        return 2;
    }
    db *d = db_new(config_str("PG", CONFIG_DEFAULT_PG), "router_load");
    bus *b = NULL;
    if (!d || db_ensure(d) != 0) {
        fprintf(stderr, "router_load: cannot connect to PostgreSQL\n");
        return 1;
    }
    if (endpoint) {
        b = bus_new();
        if (!b || bus_bind(b, endpoint) != 0) {
            fprintf(stderr, "router_load: cannot bind %s\n", endpoint);
            return 1;
        }
        usleep(300000); /* let the subscriber join */
    }
    if (agents > 0 && add_agents(d, agents, time_now_us()) != 0)
        return 1;

    struct eventlog_entry *e = calloc((size_t)batch, sizeof *e);
    event *evs = calloc((size_t)batch, sizeof *evs);
    Carebus__V1__ContactReceived *body = calloc((size_t)batch, sizeof *body);
    Carebus__V1__CustomerRef *ref = calloc((size_t)batch, sizeof *ref);
    Google__Protobuf__Timestamp *ts = calloc((size_t)batch, sizeof *ts);
    char(*phone)[24] = calloc((size_t)batch, sizeof *phone);
    char(*handle)[48] = calloc((size_t)batch, sizeof *handle);
    char(*ext)[48] = calloc((size_t)batch, sizeof *ext);
    if (!e || !evs || !body || !ref || !ts || !phone || !handle || !ext)
        return 1;
    int64_t t0 = time_now_us();
    long done = 0;
    while (done < contacts) {
        long n = contacts - done < batch ? contacts - done : batch;
        if (rate > 0)
            tool_sleep_until_us(t0 + (int64_t)((double)(done + n) * 1e6 / (double)rate));
        int64_t now = time_now_us();
        for (long k = 0; k < n; k++) {
            long i = start + done + k;
            long c = first + i % customers;
            Carebus__V1__Channel ch = channels[(i / customers + c) % 8];
            carebus__v1__customer_ref__init(&ref[k]);
            carebus__v1__contact_received__init(&body[k]);
            carebus__v1__envelope__init(&evs[k]);
            google__protobuf__timestamp__init(&ts[k]);
            snprintf(phone[k], sizeof phone[k], "09%08ld", c);
            ref[k].phone = phone[k];
            ref[k].name = "Khách hàng";
            if (ch == CAREBUS__V1__CHANNEL__CHANNEL_EMAIL)
                snprintf(handle[k], sizeof handle[k], "khach%ld@example.vn", c);
            else
                snprintf(handle[k], sizeof handle[k], "uid-%ld", c);
            ref[k].handle =
                ch == CAREBUS__V1__CHANNEL__CHANNEL_PHONE || ch == CAREBUS__V1__CHANNEL__CHANNEL_SMS
                    ? phone[k]
                    : handle[k];
            snprintf(ext[k], sizeof ext[k], "load-%ld", i);
            body[k].channel = ch;
            body[k].customer = &ref[k];
            body[k].text = (char *)texts[i % (long)(sizeof texts / sizeof texts[0])];
            body[k].external_id = ext[k];
            event_ts_set(&ts[k], now);
            evs[k].body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
            evs[k].contact_received = &body[k];
            evs[k].occurred_at = &ts[k];
            eventlog_entry_release(&e[k]);
            memset(&e[k], 0, sizeof e[k]);
            e[k].ev = &evs[k];
        }
        if (eventlog_append(d, "ingest", e, (size_t)n) != 0) {
            fprintf(stderr, "router_load: append failed\n");
            return 1;
        }
        /* As channel-ingest publishes: the bytes the log handed back. */
        for (long k = 0; b && k < n; k++)
            bus_publish_bytes(b, "ingest", e[k].wire, e[k].wire_len);
        done += n;
    }
    double secs = (double)(time_now_us() - t0) / 1e6;
    printf("{\"contacts\":%ld,\"seconds\":%.3f,\"appended_per_s\":%.0f}\n", done, secs,
           secs > 0 ? (double)done / secs : 0.0);
    if (b) {
        usleep(200000);
        bus_destroy(&b);
    }
    db_destroy(&d);
    for (long k = 0; k < batch; k++)
        eventlog_entry_release(&e[k]);
    free(e);
    free(evs);
    free(body);
    free(ref);
    free(ts);
    free(phone);
    free(handle);
    free(ext);
    return 0;
}
