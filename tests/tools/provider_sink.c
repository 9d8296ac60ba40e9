/* provider_sink — the fastest stand-in for one provider's send endpoint, for
 * the delivery benchmark (a Python emulator cannot take 5,000 requests/s):
 * answers every POST with that provider's success shape, counts requests and
 * records when each one arrived.
 *
 *   provider_sink [--port N] [--shape zalo|whatsapp|messenger|twilio|webhook]
 *                 [--key json:FIELD|form:FIELD|header:NAME] [--out FILE]
 *                 [--threads N]
 *
 * Listens on 127.0.0.1 (--port 0, the default: the kernel chooses) and prints
 * {"port":N} on stdout once it accepts connections. With --out, each POST adds
 * a line "<recv_ns> <key>": recv_ns is CLOCK_REALTIME in nanoseconds when its
 * headers arrived (comparable with commit times taken on this machine), key
 * the raw value of the first JSON string FIELD in the body (escapes kept),
 * of the form field FIELD (still URL-encoded), or of the header NAME; "-"
 * when absent. GET /__stats answers {"requests","first_ns","last_ns"} and
 * flushes the file; POST /__reset zeroes the counts and empties the file.
 * SIGTERM or SIGINT: stop, flush, print {"requests":N} and exit 0.
 *
 * Subtle: libmicrohttpd's thread pool answers; one mutex guards the counters
 * and the file. Provider ids are the request number in hex, so they are
 * unique per run and cost nothing to make.
 */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX (256 * 1024)
#define VALUE_MAX 512

enum shape { SHAPE_ZALO, SHAPE_WHATSAPP, SHAPE_MESSENGER, SHAPE_TWILIO, SHAPE_WEBHOOK };

static const struct {
    const char *name;
    enum shape shape;
    const char *recipient_key; /* echoed in the answer, as the provider does */
} shapes[] = {
    {"zalo", SHAPE_ZALO, "json:user_id"},      {"whatsapp", SHAPE_WHATSAPP, "json:to"},
    {"messenger", SHAPE_MESSENGER, "json:id"}, {"twilio", SHAPE_TWILIO, "form:To"},
    {"webhook", SHAPE_WEBHOOK, NULL},
};

static struct {
    enum shape shape;
    const char *recipient_key;
    const char *key;
    FILE *out;
    pthread_mutex_t lock;
    uint64_t requests;
    int64_t first_ns, last_ns;
} sink = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* One request: its body so far and when its headers arrived. */
typedef struct {
    int64_t recv_ns;
    char *body;
    size_t len;
    bool too_large;
} sink_req;

static int64_t sink_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The raw characters of the first JSON string value of "field" in body;
 * false when there is none (a non-string value included). */
static bool sink_json_field(const char *body, size_t len, const char *field, char *out, size_t cap)
{
    size_t flen = strlen(field);
    for (size_t i = 0; i + flen + 2 < len; i++) {
        if (body[i] != '"' || memcmp(body + i + 1, field, flen) != 0 || body[i + flen + 1] != '"')
            continue;
        size_t j = i + flen + 2;
        while (j < len && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r'))
            j++;
        if (j >= len || body[j] != ':')
            continue;
        j++;
        while (j < len && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r'))
            j++;
        if (j >= len || body[j] != '"')
            return false;
        size_t n = 0;
        for (j++; j < len && body[j] != '"'; j++) {
            if (body[j] == '\\' && j + 1 < len) { /* an escape: both characters, raw */
                if (n + 2 < cap) {
                    out[n++] = body[j];
                    out[n++] = body[j + 1];
                }
                j++;
            } else if (n + 1 < cap) {
                out[n++] = body[j];
            }
        }
        out[n] = '\0';
        return j < len;
    }
    return false;
}

/* The raw (URL-encoded) value of form field "field" in body. */
static bool sink_form_field(const char *body, size_t len, const char *field, char *out, size_t cap)
{
    size_t flen = strlen(field);
    for (size_t i = 0; i + flen < len; i++) {
        if ((i == 0 || body[i - 1] == '&') && memcmp(body + i, field, flen) == 0 &&
            body[i + flen] == '=') {
            size_t n = 0;
            for (size_t j = i + flen + 1; j < len && body[j] != '&' && n + 1 < cap; j++)
                out[n++] = body[j];
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

/* The value named by spec ("json:F", "form:F", "header:H") or "-". */
static void sink_value(struct MHD_Connection *conn, const sink_req *r, const char *spec, char *out,
                       size_t cap)
{
    bool found = false;
    if (spec && strncmp(spec, "json:", 5) == 0) {
        found = sink_json_field(r->body ? r->body : "", r->len, spec + 5, out, cap);
    } else if (spec && strncmp(spec, "form:", 5) == 0) {
        found = sink_form_field(r->body ? r->body : "", r->len, spec + 5, out, cap);
    } else if (spec && strncmp(spec, "header:", 7) == 0) {
        const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, spec + 7);
        if (v) {
            snprintf(out, cap, "%s", v);
            found = true;
        }
    }
    if (!found || out[0] == '\0')
        snprintf(out, cap, "-");
    /* One line per request: a header could hold what a JSON string cannot. */
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static enum MHD_Result sink_answer(struct MHD_Connection *conn, unsigned int status,
                                   const char *body, const char *ctype)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result sink_stats(struct MHD_Connection *conn)
{
    char buf[256];
    pthread_mutex_lock(&sink.lock);
    if (sink.out)
        fflush(sink.out);
    snprintf(buf, sizeof buf,
             "{\"requests\":%" PRIu64 ",\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64 "}",
             sink.requests, sink.first_ns, sink.last_ns);
    pthread_mutex_unlock(&sink.lock);
    return sink_answer(conn, MHD_HTTP_OK, buf, "application/json");
}

static enum MHD_Result sink_reset(struct MHD_Connection *conn)
{
    pthread_mutex_lock(&sink.lock);
    sink.requests = 0;
    sink.first_ns = sink.last_ns = 0;
    if (sink.out) {
        fflush(sink.out);
        if (ftruncate(fileno(sink.out), 0) != 0)
            fprintf(stderr, "provider_sink: could not empty the output: %s\n", strerror(errno));
        rewind(sink.out);
    }
    pthread_mutex_unlock(&sink.lock);
    return sink_answer(conn, MHD_HTTP_OK, "{}", "application/json");
}

/* A provider's success answer to request number n. */
static enum MHD_Result sink_success(struct MHD_Connection *conn, const sink_req *r, uint64_t n,
                                    int64_t now_ns)
{
    char to[VALUE_MAX], buf[VALUE_MAX * 2 + 512];
    if (sink.recipient_key)
        sink_value(conn, r, sink.recipient_key, to, sizeof to);
    switch (sink.shape) {
    case SHAPE_ZALO:
        snprintf(buf, sizeof buf,
                 "{\"data\":{\"message_id\":\"%020" PRIx64 "\",\"user_id\":\"%s\","
                 "\"sent_time\":\"%" PRId64 "\"},\"error\":0,\"message\":\"Success\"}",
                 n, to, now_ns / 1000000);
        break;
    case SHAPE_WHATSAPP:
        snprintf(buf, sizeof buf,
                 "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"%s\","
                 "\"wa_id\":\"%s\"}],\"messages\":[{\"id\":\"wamid.%032" PRIx64 "\"}]}",
                 to, to[0] == '+' ? to + 1 : to, n);
        break;
    case SHAPE_MESSENGER:
        snprintf(buf, sizeof buf, "{\"recipient_id\":\"%s\",\"message_id\":\"m_%032" PRIx64 "\"}",
                 to, n);
        break;
    case SHAPE_TWILIO:
        snprintf(buf, sizeof buf,
                 "{\"sid\":\"SM%032" PRIx64 "\",\"status\":\"queued\",\"to\":\"%s\","
                 "\"direction\":\"outbound-api\",\"api_version\":\"2010-04-01\","
                 "\"error_code\":null,\"error_message\":null}",
                 n, to);
        return sink_answer(conn, MHD_HTTP_CREATED, buf, "application/json");
    case SHAPE_WEBHOOK:
        return sink_answer(conn, MHD_HTTP_OK, "", NULL);
    }
    return sink_answer(conn, MHD_HTTP_OK, buf, "application/json; charset=UTF-8");
}

static enum MHD_Result sink_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    sink_req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->recv_ns = sink_now_ns();
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large || r->len + n > BODY_MAX) {
            r->too_large = true;
            return MHD_YES;
        }
        char *grown = realloc(r->body, r->len + n + 1);
        if (!grown)
            return MHD_NO;
        r->body = grown;
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/__stats") == 0)
        return sink_stats(conn);
    if (strcmp(method, "POST") == 0 && strcmp(url, "/__reset") == 0)
        return sink_reset(conn);
    if (strcmp(method, "POST") != 0)
        return sink_answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "", NULL);
    if (r->too_large)
        return sink_answer(conn, MHD_HTTP_CONTENT_TOO_LARGE, "", NULL);

    char key[VALUE_MAX];
    if (sink.out)
        sink_value(conn, r, sink.key, key, sizeof key);
    pthread_mutex_lock(&sink.lock);
    uint64_t n = ++sink.requests;
    if (n == 1)
        sink.first_ns = r->recv_ns;
    if (r->recv_ns > sink.last_ns)
        sink.last_ns = r->recv_ns;
    if (sink.out)
        fprintf(sink.out, "%" PRId64 " %s\n", r->recv_ns, key);
    pthread_mutex_unlock(&sink.lock);
    return sink_success(conn, r, n, r->recv_ns);
}

static void sink_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    sink_req *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
    }
    *con_cls = NULL;
}

static const char *arg_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

int main(int argc, char **argv)
{
    long port = strtol(arg_str(argc, argv, "--port", "0"), NULL, 10);
    long threads = strtol(arg_str(argc, argv, "--threads", "2"), NULL, 10);
    const char *shape = arg_str(argc, argv, "--shape", "zalo");
    const char *out = arg_str(argc, argv, "--out", NULL);
    bool known = false;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (strcmp(shapes[i].name, shape) == 0) {
            sink.shape = shapes[i].shape;
            sink.recipient_key = shapes[i].recipient_key;
            known = true;
        }
    if (!known || port < 0 || port > 65535 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: provider_sink [--port N] [--shape zalo|whatsapp|messenger|"
                        "twilio|webhook] [--key json:F|form:F|header:H] [--out FILE] "
                        "[--threads N]\n");
        return 2;
    }
    sink.key = arg_str(argc, argv, "--key", sink.recipient_key ? sink.recipient_key : "-");
    if (out) {
        if (!(sink.out = fopen(out, "w"))) {
            fprintf(stderr, "provider_sink: could not open %s: %s\n", out, strerror(errno));
            return 1;
        }
        setvbuf(sink.out, NULL, _IOFBF, 1 << 20);
    }

    /* The pool's threads inherit this mask: the signals wait for sigwait. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, sink_access, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)4096, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024, MHD_OPTION_NOTIFY_COMPLETED,
        sink_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "provider_sink: could not listen on 127.0.0.1 port %ld\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("{\"port\":%u}\n", info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    pthread_mutex_lock(&sink.lock);
    if (sink.out)
        fclose(sink.out);
    printf("{\"requests\":%" PRIu64 "}\n", sink.requests);
    pthread_mutex_unlock(&sink.lock);
    return 0;
}
