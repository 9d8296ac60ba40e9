/* openloop.c — an open-loop HTTP load generator for POST /v1/messages.
 *
 *   openloop -p PORT -r RATE -d SECONDS [-c CONNS] [-k KEY] [-x PREFIX] [-H HOST]
 *            [-m -n FIRST_CUSTOMER [-s SURVEY_PORT]]
 *
 * Request i is due at start + i/RATE, whatever happened to the requests
 * before it, and its latency is measured from that scheduled time, not from
 * when it could be written: when the server stalls, the requests that
 * should have gone out meanwhile wait in a queue and their wait counts
 * (the "coordinated omission" a closed-loop tool like wrk hides; Gil Tene,
 * wrk2). Requests go out over CONNS keep-alive HTTP/1.1 connections, one in
 * flight per connection; a due request takes the first idle one.
 *
 * Each body is a contact.received with a unique external_id (PREFIX and the
 * request's number), so every request is a new event. Prints one line:
 *
 *   OPENLOOP due=N ok=N non2xx=N errors=N late=N rate=R p50_us=.. p90_us=..
 *            p99_us=.. p999_us=.. max_us=..
 *
 * With -m (the mix of tests/bench/pipeline.py) the requests of each 20 due
 * are 12 contacts (3 in 10 from a returning customer, the others from new
 * ones numbered from FIRST_CUSTOMER, each customer on one of the 12
 * channels), 5 agent replies, 2 status changes and 1 survey answer. The
 * follow-ups need tickets and surveys that exist: they are read from stdin,
 * one per line, "r PATH BODY" (reply), "s PATH BODY" (status) or "a PATH
 * BODY" (survey answer, sent to SURVEY_PORT), and a due follow-up whose
 * queue is empty goes out as a contact instead. The line then adds
 * "contacts=N returning=N replies=N statuses=N answers=N".
 *
 * where late counts requests still unanswered 10 s after the last was due
 * (they count as errors too). Exit 0 when it ran (whatever the answers), 2
 * on a usage or setup error. Built by tests/bench/10-ingest.part.sh with the
 * system compiler: one file, libc only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define REQ_MAX 1024
#define RESP_MAX 8192
#define DRAIN_NS (10 * 1000000000LL)

struct conn {
    int fd, port;
    long req; /* the request in flight, -1 when idle */
    char out[REQ_MAX];
    size_t out_len, out_off;
    char in[RESP_MAX];
    size_t in_len;
};

static struct {
    const char *host, *key, *prefix;
    int port, nconns;
    double rate, seconds;
} opt = {"127.0.0.1", "", "ol", 0, 128, 0, 0};

#define SURVEY_CONNS 8
#define QUEUE_MAX (1 << 20)

/* The follow-ups given on stdin, by kind: a bounded FIFO of lines. */
struct queue {
    char **line;
    long head, tail; /* tail - head lines waiting */
};

static struct {
    int on, survey_port;
    long first_customer, customers, contacts, returning, sent[3];
    struct queue q[3]; /* r, s, a */
    char in[65536];
    size_t in_len;
    int in_open;
} mix;

static struct conn conns[MAX_CONNS + SURVEY_CONNS];
static int nall;        /* conns in use: opt.nconns, then the survey's */
static int64_t *lat_ns; /* per request; -1 while unanswered */
static long total, next_due, next_send;
static long ok, non2xx, errors;
static int64_t t0;
static int epfd;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t due_at(long i)
{
    return t0 + (int64_t)((double)i * 1e9 / opt.rate);
}

static int conn_open(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    inet_pton(AF_INET, opt.host, &sa.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    c->req = -1;
    c->in_len = c->out_len = c->out_off = 0;
    return 0;
}

static void conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0)
            return; /* EAGAIN (or an error the read side will see) */
        c->out_off += (size_t)n;
    }
}

static const char *const channels[12] = {"phone", "email",     "chat",       "facebook",
                                         "zalo",  "instagram", "tiktok",     "twitter",
                                         "sms",   "whatsapp",  "helpcenter", "store"};

/* Contact i's body into body: the ingest bench's one customer shape, or
 * the mix's customers (new and returning, on their channel). */
static int contact_body(char *body, size_t size, long i)
{
    if (!mix.on) {
        long k = i % 5000;
        return snprintf(
            body, size,
            "{\"channel\":\"zalo\",\"external_id\":\"%s-%ld\",\"customer\":{\"name\":"
            "\"Khách %ld\",\"phone\":\"09%08ld\",\"handle\":\"zalo-%ld\"},\"text\":\"Tôi "
            "cần hỗ trợ đơn hàng #%ld\",\"occurred_at\":\"2026-11-23T09:00:00+07:00\"}",
            opt.prefix, i, k, k, k, i);
    }
    long c = mix.contacts++, k;
    if (c % 10 < 3 && mix.customers > 100) {
        k = mix.first_customer +
            (long)(((unsigned long)c * 2654435761UL) % (unsigned long)mix.customers);
        mix.returning++;
    } else {
        k = mix.first_customer + mix.customers++;
    }
    const char *ch = channels[k % 12];
    char who[96];
    if (k % 12 == 1)
        snprintf(who, sizeof who, "\"email\":\"k%ld@example.vn\"", k);
    else if (k % 12 == 0 || k % 12 == 8 || k % 12 == 9)
        snprintf(who, sizeof who, "\"phone\":\"09%08ld\"", k % 100000000);
    else
        snprintf(who, sizeof who, "\"handle\":\"%s-%ld\"", ch, k);
    return snprintf(body, size,
                    "{\"channel\":\"%s\",\"external_id\":\"%s-%ld\",\"customer\":{\"name\":"
                    "\"Khách %ld\",%s},\"text\":\"Tôi cần hỗ trợ đơn hàng #%ld\"}",
                    ch, opt.prefix, i, k, who, i);
}

/* The kind request i is in the mix: 0 reply, 1 status, 2 answer, -1 a
 * contact. */
static int mix_kind(long i)
{
    if (!mix.on)
        return -1;
    long slot = i % 20;
    return slot < 12 ? -1 : slot < 17 ? 0 : slot < 19 ? 1 : 2;
}

static void conn_send(struct conn *c, long i, int kind)
{
    char body[768];
    const char *path = "/v1/messages";
    char pathbuf[256];
    int bl;
    if (kind < 0) {
        bl = contact_body(body, sizeof body, i);
    } else {
        struct queue *q = &mix.q[kind];
        char *line = q->line[q->head % QUEUE_MAX];
        q->line[q->head % QUEUE_MAX] = NULL;
        q->head++;
        mix.sent[kind]++;
        /* "K PATH BODY" */
        char *p = line + 2, *sp = strchr(p, ' ');
        size_t pl = sp ? (size_t)(sp - p) : strlen(p);
        snprintf(pathbuf, sizeof pathbuf, "%.*s", (int)pl, p);
        path = pathbuf;
        bl = snprintf(body, sizeof body, "%s", sp ? sp + 1 : "{}");
        free(line);
    }
    int n = snprintf(c->out, sizeof c->out,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     path, opt.host, c->port, opt.key, bl, body);
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->in_len = 0;
    c->req = i;
    conn_flush(c);
}

/* The follow-ups arrived on stdin, queued by kind (a full queue drops). */
static void mix_read(void)
{
    for (;;) {
        ssize_t n = read(0, mix.in + mix.in_len, sizeof mix.in - 1 - mix.in_len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            epoll_ctl(epfd, EPOLL_CTL_DEL, 0, NULL);
            mix.in_open = 0;
            return;
        }
        if (n < 0)
            return;
        mix.in_len += (size_t)n;
        mix.in[mix.in_len] = '\0';
        char *start = mix.in, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = '\0';
            int kind = start[0] == 'r' ? 0 : start[0] == 's' ? 1 : start[0] == 'a' ? 2 : -1;
            struct queue *q = kind >= 0 ? &mix.q[kind] : NULL;
            if (q && start[1] == ' ' && q->tail - q->head < QUEUE_MAX)
                q->line[q->tail++ % QUEUE_MAX] = strdup(start);
            start = nl + 1;
        }
        mix.in_len = strlen(start);
        memmove(mix.in, start, mix.in_len);
        if (mix.in_len >= sizeof mix.in - 1)
            mix.in_len = 0; /* a line too long for a request: dropped */
    }
}

/* An idle connection to port, or NULL. */
static struct conn *conn_idle(int port)
{
    for (int i = 0; i < nall; i++)
        if (conns[i].req < 0 && conns[i].fd >= 0 && conns[i].port == port)
            return &conns[i];
    return NULL;
}

/* The request of c failed on the network: count it and reconnect. */
static void conn_fail(struct conn *c)
{
    if (c->req >= 0) {
        errors++;
        lat_ns[c->req] = -2;
    }
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conn_open(c);
}

/* A whole response in c->in? 1 done (c idle again), 0 not yet, -1 bad. */
static int conn_parse(struct conn *c)
{
    c->in[c->in_len < RESP_MAX ? c->in_len : RESP_MAX - 1] = '\0';
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end)
        return c->in_len >= RESP_MAX - 1 ? -1 : 0;
    int status = 0;
    if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t clen = 0;
    const char *cl = strcasestr(c->in, "\r\nContent-Length:");
    if (cl && cl < end)
        clen = strtoul(cl + 17, NULL, 10);
    size_t head = (size_t)(end - c->in) + 4;
    if (c->in_len < head + clen)
        return 0;
    int closing = strcasestr(c->in, "\r\nConnection: close") != NULL;
    lat_ns[c->req] = now_ns() - due_at(c->req);
    if (status >= 200 && status < 300)
        ok++;
    else
        non2xx++;
    c->req = -1;
    /* Anything after the response is not ours (no pipelining). */
    c->in_len = 0;
    return closing ? -1 : 1;
}

static void conn_read(struct conn *c)
{
    for (;;) {
        if (c->in_len >= RESP_MAX - 1) {
            conn_fail(c);
            return;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, RESP_MAX - 1 - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (c->req < 0)
                c->in_len = 0;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            conn_fail(c);
            return;
        }
        break;
    }
    if (c->req < 0)
        return;
    int r = conn_parse(c);
    if (r < 0) {
        if (c->req >= 0) { /* unparseable: an error */
            errors++;
            lat_ns[c->req] = -2;
            c->req = -1;
        }
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        conn_open(c);
    }
}

/* The p-quantile of the sorted v[0..n) in microseconds; -1 when it falls on
 * an unanswered request. */
static long long quantile_us(const int64_t *v, long n, double p)
{
    int64_t x = v[(long)((double)(n - 1) * p)];
    return x == INT64_MAX ? -1 : (long long)(x / 1000);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: openloop -p PORT -r RATE -d SECONDS [-c CONNS] [-k KEY] [-x PREFIX] "
                    "[-H HOST] [-m -n FIRST_CUSTOMER [-s SURVEY_PORT]]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int o;
    while ((o = getopt(argc, argv, "H:p:r:d:c:k:x:mn:s:")) != -1) {
        switch (o) {
        case 'H':
            opt.host = optarg;
            break;
        case 'p':
            opt.port = atoi(optarg);
            break;
        case 'r':
            opt.rate = atof(optarg);
            break;
        case 'd':
            opt.seconds = atof(optarg);
            break;
        case 'c':
            opt.nconns = atoi(optarg);
            break;
        case 'k':
            opt.key = optarg;
            break;
        case 'x':
            opt.prefix = optarg;
            break;
        case 'm':
            mix.on = 1;
            break;
        case 'n':
            mix.first_customer = atol(optarg);
            break;
        case 's':
            mix.survey_port = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (opt.port <= 0 || opt.rate <= 0 || opt.seconds <= 0 || opt.nconns < 1 ||
        opt.nconns > MAX_CONNS)
        usage();
    total = (long)(opt.rate * opt.seconds);
    lat_ns = malloc((size_t)total * sizeof *lat_ns);
    epfd = epoll_create1(0);
    if (!lat_ns || epfd < 0)
        return 2;
    for (long i = 0; i < total; i++)
        lat_ns[i] = -1;
    nall = opt.nconns + (mix.on && mix.survey_port > 0 ? SURVEY_CONNS : 0);
    for (int i = 0; i < nall; i++) {
        conns[i].port = i < opt.nconns ? opt.port : mix.survey_port;
        if (conn_open(&conns[i]) != 0) {
            fprintf(stderr, "openloop: cannot connect to %s:%d\n", opt.host, conns[i].port);
            return 2;
        }
    }
    if (mix.on) {
        for (int k = 0; k < 3; k++)
            if (!(mix.q[k].line = calloc(QUEUE_MAX, sizeof *mix.q[k].line)))
                return 2;
        fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        mix.in_open = epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) == 0;
    }
    t0 = now_ns() + 100000000LL; /* connections settle for 100 ms */
    int64_t deadline = due_at(total) + DRAIN_NS;
    struct epoll_event evs[256];
    long answered_or_failed = 0;
    for (;;) {
        int64_t now = now_ns();
        while (next_due < total && due_at(next_due) <= now)
            next_due++;
        /* Due requests go to idle connections, oldest first; a follow-up
         * with none queued goes out as a contact. */
        while (next_send < next_due) {
            int kind = mix_kind(next_send);
            if (kind >= 0 &&
                (mix.q[kind].tail == mix.q[kind].head || (kind == 2 && mix.survey_port <= 0)))
                kind = -1;
            struct conn *c = conn_idle(kind == 2 ? mix.survey_port : opt.port);
            if (!c)
                break;
            conn_send(c, next_send++, kind);
        }
        answered_or_failed = ok + non2xx + errors;
        if (answered_or_failed >= total || now >= deadline)
            break;
        int64_t wait = next_due < total ? due_at(next_due) - now : deadline - now;
        if (wait < 0)
            wait = 0;
        if (wait > 10000000LL)
            wait = 10000000LL;
        struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
        int n = epoll_pwait2(epfd, evs, 256, &ts, NULL);
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (!c) {
                mix_read();
                continue;
            }
            if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
                conn_fail(c);
                continue;
            }
            if (evs[k].events & EPOLLOUT)
                conn_flush(c);
            if (evs[k].events & EPOLLIN)
                conn_read(c);
        }
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    long late = total - (ok + non2xx + errors);
    /* Unanswered requests count as errors, and in the percentiles as
     * infinitely late: percentiles are over every due request. */
    int64_t *v = malloc((size_t)total * sizeof *v);
    if (!v)
        return 2;
    for (long i = 0; i < total; i++)
        v[i] = lat_ns[i] < 0 ? INT64_MAX : lat_ns[i];
    qsort(v, (size_t)total, sizeof *v, cmp64);
    long answered = ok + non2xx;
    printf("OPENLOOP due=%ld ok=%ld non2xx=%ld errors=%ld late=%ld rate=%.0f p50_us=%lld "
           "p90_us=%lld p99_us=%lld p999_us=%lld max_us=%lld\n",
           total, ok, non2xx, errors + late, late, (double)answered / secs,
           quantile_us(v, total, 0.50), quantile_us(v, total, 0.90), quantile_us(v, total, 0.99),
           quantile_us(v, total, 0.999), quantile_us(v, total, 1.0));
    if (mix.on)
        printf("OPENLOOP_MIX contacts=%ld returning=%ld replies=%ld statuses=%ld answers=%ld "
               "customers=%ld\n",
               mix.contacts, mix.returning, mix.sent[0], mix.sent[1], mix.sent[2], mix.customers);
    free(v);
    free(lat_ns);
    return 0;
}
