/* test_http.c — http.c over real loopback HTTP.
 *
 * Each test gets a fresh loop and server on an ephemeral port. The loop is
 * single-threaded, so requests come from a client thread (libcurl) that
 * records what it got and, when done, writes to a pipe the loop watches; the
 * pipe's callback stops the loop on the loop's thread. Assertions run on the
 * main thread after the loop returns (cmocka's are not thread-safe).
 * Run one test by name: test_http <name>.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <zmq.h>

#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

#define MAX_BODY 1024

/* --- server side (runs on the loop's thread) ----------------------------- */

static struct {
    loop *l;
    http_server *s;
    int port;
} fx;

static atomic_int echo_calls;    /* handler runs of POST /v1/echo */
static atomic_int data_freed;    /* free_fn runs for suspended requests' data */
static atomic_bool ready_flag;   /* what /readyz reports */
static atomic_int slow_answers;  /* suspended requests answered by the timer */
static http_req *slow_req;       /* the one waiting for the timer */
static atomic_bool slow_waiting; /* slow_req is set */
static int64_t slow_due_ms;
static long slow_delay_ms;
static bool destroy_requested; /* the timer destroys the server */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static http_status h_hello(http_req *r, void *arg)
{
    (void)arg;
    http_reply_json(r, 200, json_pack("{s:s}", "hello", "world"));
    return HTTP_DONE;
}

static http_status h_hello_post(http_req *r, void *arg)
{
    (void)arg;
    http_reply(r, 201, "text/plain", "made", 4);
    return HTTP_DONE;
}

static http_status h_item(http_req *r, void *arg)
{
    (void)arg;
    http_reply_json(r, 200,
                    json_pack("{s:s,s:s,s:s*}", "id", http_param(r, "id"), "part",
                              http_param(r, "part"), "none", http_param(r, "nope")));
    return HTTP_DONE;
}

static http_status h_echo(http_req *r, void *arg)
{
    (void)arg;
    atomic_fetch_add(&echo_calls, 1);
    size_t len;
    const char *body = http_body(r, &len);
    http_add_header(r, "X-Echo", "1");
    http_reply_json(r, 200,
                    json_pack("{s:s%,s:s*,s:s*,s:s*,s:s,s:s}", "body", body, len, "q",
                              http_query(r, "q"), "x_test", http_header(r, "x-test"), "missing",
                              http_query(r, "missing"), "method", http_method(r), "path",
                              http_path(r)));
    return HTTP_DONE;
}

static void data_free(void *p)
{
    free(p);
    atomic_fetch_add(&data_freed, 1);
}

static http_status h_slow(http_req *r, void *arg)
{
    (void)arg;
    assert_null(slow_req);
    http_set_data(r, strdup("slow"), data_free);
    slow_req = r;
    slow_due_ms = now_ms() + slow_delay_ms;
    atomic_store(&slow_waiting, true);
    return HTTP_SUSPENDED;
}

/* Answers the waiting slow request from inside another request's handler,
 * as a batch commit answers many requests at once. */
static http_status h_release(http_req *r, void *arg)
{
    (void)arg;
    if (slow_req) {
        http_req *w = slow_req;
        slow_req = NULL;
        http_reply_json(w, 200, json_pack("{s:s}", "released", (const char *)http_data(w)));
    }
    http_reply(r, 204, "text/plain", "", 0);
    return HTTP_DONE;
}

static http_status h_never(http_req *r, void *arg)
{
    (void)arg;
    http_set_data(r, strdup("never"), data_free);
    destroy_requested = true;
    return HTTP_SUSPENDED;
}

static http_status h_forgot(http_req *r, void *arg)
{
    (void)r;
    (void)arg;
    return HTTP_DONE; /* the bug under test: no answer */
}

static http_status h_error(http_req *r, void *arg)
{
    (void)arg;
    if (http_query(r, "bad"))
        http_reply_error(r, 422, "invalid", NULL, "bad value \"%s\"", "\xff\xfe");
    else
        http_reply_error(r, 422, "invalid", "name", "bad value \"%s\"", "x");
    return HTTP_DONE;
}

/* Who the guard let in, and what the request carried. */
static http_status h_guarded(http_req *r, void *arg)
{
    (void)arg;
    http_reply_json(r, 200,
                    json_pack("{s:s*,s:s*,s:s*,s:b}", "who", (const char *)http_auth(r), "c1",
                              http_cookie(r, "c1"), "none", http_cookie(r, "nope"), "tls",
                              http_tls(r)));
    return HTTP_DONE;
}

#define GUARDED 7u /* an access value the guard reads; 0: open */
static atomic_int guard_calls;

/* Lets a GUARDED route in when the request has the cookie "pass". */
static bool guard(http_req *r, const struct http_route *route, void *arg)
{
    assert_ptr_equal(arg, &fx);
    atomic_fetch_add(&guard_calls, 1);
    if (route->access != GUARDED)
        return true;
    const char *pass = http_cookie(r, "pass");
    if (!pass) {
        http_reply_error(r, 401, "unauthorized", NULL, "no pass");
        return false;
    }
    assert_int_equal(http_set_auth(r, pass, strlen(pass) + 1), 0);
    return true;
}

static const struct http_route routes[] = {
    {"GET", "/v1/hello", h_hello, 0},
    {"POST", "/v1/hello", h_hello_post, 0},
    {"GET", "/v1/items/:id/parts/:part", h_item, 0},
    {"POST", "/v1/echo", h_echo, 0},
    {"GET", "/v1/slow", h_slow, 0},
    {"GET", "/v1/never", h_never, 0},
    {"POST", "/v1/release", h_release, 0},
    {"GET", "/v1/forgot", h_forgot, 0},
    {"GET", "/v1/error", h_error, 0},
    {"GET", "/v1/guarded", h_guarded, GUARDED},
};

static bool is_ready(void *arg)
{
    assert_ptr_equal(arg, &fx);
    return atomic_load(&ready_flag);
}

static int on_tick(loop *l, void *arg)
{
    (void)l;
    (void)arg;
    if (slow_req && now_ms() >= slow_due_ms) {
        http_req *r = slow_req;
        slow_req = NULL;
        const char *data = http_data(r);
        http_reply_json(r, 200, json_pack("{s:s}", "late", data));
        atomic_fetch_add(&slow_answers, 1);
    }
    if (destroy_requested) {
        destroy_requested = false;
        http_server_destroy(&fx.s);
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    atomic_store(&echo_calls, 0);
    atomic_store(&guard_calls, 0);
    atomic_store(&data_freed, 0);
    atomic_store(&ready_flag, true);
    atomic_store(&slow_answers, 0);
    atomic_store(&slow_waiting, false);
    slow_req = NULL;
    slow_delay_ms = 10;
    destroy_requested = false;
    fx.l = loop_new();
    assert_non_null(fx.l);
    struct http_server_opts o = {
        .addr = "127.0.0.1",
        .port = 0,
        .routes = routes,
        .nroutes = sizeof routes / sizeof routes[0],
        .arg = &fx,
        .ready = is_ready,
        .guard = guard,
        .max_body = MAX_BODY,
    };
    fx.s = http_server_new(fx.l, &o);
    assert_non_null(fx.s);
    fx.port = http_server_port(fx.s);
    assert_true(fx.port > 0);
    assert_true(loop_add_timer(fx.l, 2, on_tick, NULL) > 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    http_server_destroy(&fx.s);
    assert_null(fx.s);
    loop_destroy(&fx.l);
    unsetenv("CAREBUS_HTTP_TIMEOUT_S");
    return 0;
}

/* --- client side (runs on its own thread) -------------------------------- */

struct resp {
    long status;
    long connects; /* new connections this request opened (0: reused) */
    CURLcode rc;
    char body[16384];
    size_t body_len;
    char headers[4096];
    size_t headers_len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = size * n;
    size_t room = sizeof r->body - 1 - r->body_len;
    size_t k = len < room ? len : room;
    memcpy(r->body + r->body_len, p, k);
    r->body_len += k;
    r->body[r->body_len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = size * n;
    size_t room = sizeof r->headers - 1 - r->headers_len;
    size_t k = len < room ? len : room;
    memcpy(r->headers + r->headers_len, p, k);
    r->headers_len += k;
    r->headers[r->headers_len] = '\0';
    return len;
}

struct upload {
    const char *data;
    size_t len, off;
};

static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t k = size * n;
    if (k > u->len - u->off)
        k = u->len - u->off;
    memcpy(p, u->data + u->off, k);
    u->off += k;
    return k;
}

static _Thread_local long client_timeout_ms = 10000;

/* One request on handle c (reused for keep-alive). body NULL: none.
 * chunked: send the body with Transfer-Encoding: chunked. */
static void req(CURL *c, struct resp *out, const char *method, const char *path, const char *body,
                size_t len, bool chunked, const char *header)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", fx.port, path);
    memset(out, 0, sizeof *out);
    struct curl_slist *hdrs = NULL;
    if (header)
        hdrs = curl_slist_append(hdrs, header);
    struct upload up = {body, len, 0};
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, client_timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    if (body && chunked) {
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") != 0 || !body)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    out->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->connects);
    curl_slist_free_all(hdrs);
}

static void get(CURL *c, struct resp *out, const char *path)
{
    req(c, out, "GET", path, NULL, 0, false, NULL);
}

#define NRESP 8
static struct resp res[NRESP];
static int pipefd[2];

static int on_done(loop *l, short revents, void *arg)
{
    (void)revents;
    (void)arg;
    char b;
    if (read(pipefd[0], &b, 1) != 1)
        return -1;
    loop_stop(l);
    return 0;
}

struct client {
    void (*fn)(CURL *c);
};

static void *client_main(void *arg)
{
    struct client *cl = arg;
    CURL *c = curl_easy_init();
    if (c) {
        cl->fn(c);
        curl_easy_cleanup(c);
    }
    char b = 'x';
    if (write(pipefd[1], &b, 1) != 1)
        abort();
    return NULL;
}

/* Runs the loop while fn talks to the server from another thread. */
static void run_client(void (*fn)(CURL *c))
{
    memset(res, 0, sizeof res);
    assert_int_equal(pipe(pipefd), 0);
    assert_int_equal(loop_add_fd(fx.l, pipefd[0], ZMQ_POLLIN, on_done, NULL), 0);
    struct client cl = {fn};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_main, &cl), 0);
    assert_int_equal(loop_run(fx.l), 0);
    pthread_join(t, NULL);
    loop_remove_fd(fx.l, pipefd[0]);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* --- assertions helpers -------------------------------------------------- */

static json_t *body_json(const struct resp *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body, r->body_len, 0, &e);
    if (!j)
        fail_msg("not JSON (%s): %s", e.text, r->body);
    return j;
}

static const char *jstr(json_t *j, const char *path1, const char *path2)
{
    json_t *v = json_object_get(j, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static void assert_error(const struct resp *r, long status, const char *code)
{
    assert_int_equal(r->rc, CURLE_OK);
    assert_int_equal(r->status, status);
    assert_non_null(strcasestr(r->headers, "\r\nContent-Type: application/json\r\n"));
    json_t *j = body_json(r);
    assert_string_equal(jstr(j, "error", "code"), code);
    assert_non_null(jstr(j, "error", "message"));
    json_decref(j);
}

/* --- tests ---------------------------------------------------------------- */

static void c_basic(CURL *c)
{
    get(c, &res[0], "/v1/hello");
    get(c, &res[1], "/v1/items/a%2Fb%20c/parts/p1");
    req(c, &res[2], "POST", "/v1/echo?q=a%20b&n=1", "{\"x\":1}", 7, false, "X-Test: yes");
    get(c, &res[3], "/v1/hello");
}

static void test_basic_routes(void **state)
{
    (void)state;
    run_client(c_basic);
    assert_int_equal(res[0].rc, CURLE_OK);
    assert_int_equal(res[0].status, 200);
    assert_string_equal(res[0].body, "{\"hello\":\"world\"}");
    assert_non_null(strcasestr(res[0].headers, "\r\nContent-Type: application/json\r\n"));

    /* :param values are percent-decoded; an encoded '/' stays in its segment. */
    assert_int_equal(res[1].status, 200);
    json_t *j = body_json(&res[1]);
    assert_string_equal(jstr(j, "id", NULL), "a/b c");
    assert_string_equal(jstr(j, "part", NULL), "p1");
    assert_null(json_object_get(j, "none"));
    json_decref(j);

    assert_int_equal(res[2].status, 200);
    assert_non_null(strcasestr(res[2].headers, "\r\nX-Echo: 1\r\n"));
    j = body_json(&res[2]);
    assert_string_equal(jstr(j, "body", NULL), "{\"x\":1}");
    assert_string_equal(jstr(j, "q", NULL), "a b");
    assert_string_equal(jstr(j, "x_test", NULL), "yes"); /* looked up as "x-test" */
    assert_null(json_object_get(j, "missing"));
    assert_string_equal(jstr(j, "method", NULL), "POST");
    assert_string_equal(jstr(j, "path", NULL), "/v1/echo");
    json_decref(j);
    assert_int_equal(atomic_load(&echo_calls), 1);

    /* HTTP/1.1 keep-alive: later requests reuse the first connection. */
    assert_int_equal(res[0].connects, 1);
    assert_int_equal(res[1].connects, 0);
    assert_int_equal(res[2].connects, 0);
    assert_int_equal(res[3].connects, 0);
}

/* Headers of 8 KiB (nginx's limit for a header line) fit in a connection's
 * memory pool (HTTP_CONNECTION_MEMORY), on a new connection and on a
 * kept-alive one. */
#define BIG_HEADER 8192
static char big_header[sizeof "X-Test: " + BIG_HEADER];

static void c_large_header(CURL *c)
{
    memcpy(big_header, "X-Test: ", 8);
    memset(big_header + 8, 'h', BIG_HEADER);
    big_header[8 + BIG_HEADER] = '\0';
    req(c, &res[0], "POST", "/v1/echo", "{\"x\":1}", 7, false, big_header);
    req(c, &res[1], "POST", "/v1/echo", "{\"x\":2}", 7, false, big_header);
}

static void test_large_header(void **state)
{
    (void)state;
    run_client(c_large_header);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(res[i].rc, CURLE_OK);
        assert_int_equal(res[i].status, 200);
        json_t *j = body_json(&res[i]);
        const char *v = jstr(j, "x_test", NULL);
        assert_non_null(v);
        assert_int_equal(strlen(v), BIG_HEADER);
        assert_int_equal(strspn(v, "h"), BIG_HEADER);
        json_decref(j);
    }
    assert_int_equal(res[1].connects, 0);
}

/* Headers that fit in the pool but would leave too little of it for the
 * answer's headers are refused 431 before the handler runs. The handler
 * runs exactly for the 200s: a request answered nothing (the few hundred
 * bytes below the pool's end, where even the 431 cannot be built) has had
 * nothing done. */
#define SWEEP_MAX 48
static char sweep_header[sizeof "X-Test: " + 17000];
static long sweep_status[SWEEP_MAX];
static CURLcode sweep_rc[SWEEP_MAX];
static int sweep_n;

static void c_header_sweep(CURL *c)
{
    static struct resp one;
    sweep_n = 0;
    for (size_t size = 11000; size <= 16500 && sweep_n < SWEEP_MAX;
         size += size >= 15500 && size < 16000 ? 25 : 250) {
        memcpy(sweep_header, "X-Test: ", 8);
        memset(sweep_header + 8, 'h', size);
        sweep_header[8 + size] = '\0';
        req(c, &one, "POST", "/v1/echo", "{\"x\":1}", 7, false, sweep_header);
        sweep_status[sweep_n] = one.status;
        sweep_rc[sweep_n++] = one.rc;
    }
}

static void test_headers_near_the_pool_are_answered(void **state)
{
    (void)state;
    run_client(c_header_sweep);
    int ok = 0, refused = 0;
    for (int i = 0; i < sweep_n; i++) {
        if (sweep_rc[i] == CURLE_GOT_NOTHING && ok > 0 && refused > 0)
            continue;
        if (sweep_rc[i] != CURLE_OK)
            fail_msg("request %d: no answer (curl %d)", i, (int)sweep_rc[i]);
        if (sweep_status[i] == 200)
            ok++;
        else if (sweep_status[i] == 431)
            refused++;
        else
            fail_msg("request %d: status %ld", i, sweep_status[i]);
    }
    assert_true(ok > 0 && refused > 0);
    assert_int_equal(atomic_load(&echo_calls), ok);
}

static void c_guarded(CURL *c)
{
    get(c, &res[0], "/v1/guarded");
    req(c, &res[1], "GET", "/v1/guarded", NULL, 0, false, "Cookie: c0=x; pass=who-1; c1=v%201");
    get(c, &res[2], "/healthz");
    get(c, &res[3], "/nope");
}

static void test_guard_cookies_and_auth(void **state)
{
    (void)state;
    run_client(c_guarded);
    assert_error(&res[0], 401, "unauthorized");
    assert_int_equal(res[1].status, 200);
    json_t *j = body_json(&res[1]);
    assert_string_equal(jstr(j, "who", NULL), "who-1"); /* the guard's copy */
    assert_string_equal(jstr(j, "c1", NULL), "v%201");  /* as sent */
    assert_null(json_object_get(j, "none"));
    assert_true(json_is_false(json_object_get(j, "tls")));
    json_decref(j);
    /* The built-in routes and a path without a route never reach it. */
    assert_int_equal(res[2].status, 200);
    assert_int_equal(res[3].status, 404);
    assert_int_equal(atomic_load(&guard_calls), 2);
}

static void c_not_found(CURL *c)
{
    get(c, &res[0], "/nope");
    get(c, &res[1], "/v1/hello/extra");
    get(c, &res[2], "/v1/items//parts/p"); /* empty :id */
    req(c, &res[3], "DELETE", "/v1/hello", NULL, 0, false, NULL);
    req(c, &res[4], "POST", "/healthz", "x", 1, false, NULL);
    get(c, &res[5], "/v1/hello"); /* the connection survived the errors */
}

static void test_not_found_and_method(void **state)
{
    (void)state;
    run_client(c_not_found);
    assert_error(&res[0], 404, "not_found");
    assert_error(&res[1], 404, "not_found");
    assert_error(&res[2], 404, "not_found");
    assert_error(&res[3], 405, "method_not_allowed");
    assert_non_null(strcasestr(res[3].headers, "\r\nAllow: GET, POST\r\n"));
    assert_error(&res[4], 405, "method_not_allowed");
    assert_non_null(strcasestr(res[4].headers, "\r\nAllow: GET\r\n"));
    assert_int_equal(res[5].status, 200);
    assert_int_equal(res[5].connects, 0);
    json_t *j = body_json(&res[0]);
    assert_null(json_object_get(json_object_get(j, "error"), "field"));
    json_decref(j);
}

static char big[64 * MAX_BODY];

static void c_too_large(CURL *c)
{
    memset(big, 'a', sizeof big);
    req(c, &res[0], "POST", "/v1/echo", big, MAX_BODY + 1, false, NULL);
    req(c, &res[1], "POST", "/v1/echo", big, MAX_BODY + MAX_BODY / 2, true, NULL);
    req(c, &res[2], "POST", "/v1/echo", big, MAX_BODY, false, NULL);    /* at the limit */
    req(c, &res[3], "POST", "/v1/echo", big, MAX_BODY - 8, true, NULL); /* chunked, fits */
    req(c, &res[4], "POST", "/v1/echo", big, sizeof big, true, NULL);   /* far too large */
    get(c, &res[5], "/v1/hello");
}

static void test_body_too_large(void **state)
{
    (void)state;
    run_client(c_too_large);
    assert_error(&res[0], 413, "body_too_large");
    assert_error(&res[1], 413, "body_too_large");
    assert_int_equal(res[2].status, 200);
    assert_int_equal(res[3].status, 200);
    json_t *j = body_json(&res[2]);
    assert_int_equal(strlen(jstr(j, "body", NULL)), MAX_BODY);
    json_decref(j);
    j = body_json(&res[3]);
    assert_int_equal(strlen(jstr(j, "body", NULL)), MAX_BODY - 8);
    json_decref(j);
    /* A chunked body far over the limit: 413 if it came in one piece,
     * else the connection is closed once twice the limit has been read. */
    if (res[4].rc == CURLE_OK)
        assert_error(&res[4], 413, "body_too_large");
    assert_int_equal(res[5].status, 200);
    /* The handler ran only for the two bodies that fit. */
    assert_int_equal(atomic_load(&echo_calls), 2);
}

static void c_builtins(CURL *c)
{
    get(c, &res[0], "/healthz");
    get(c, &res[1], "/readyz");
    atomic_store(&ready_flag, false);
    get(c, &res[2], "/readyz");
    atomic_store(&ready_flag, true);
    get(c, &res[3], "/v1/hello");
    get(c, &res[4], "/metrics");
    req(c, &res[5], "HEAD", "/healthz", NULL, 0, false, NULL);
}

static void test_builtins(void **state)
{
    (void)state;
    run_client(c_builtins);
    assert_int_equal(res[0].status, 200);
    assert_string_equal(res[0].body, "{\"status\":\"ok\"}");
    assert_int_equal(res[1].status, 200);
    assert_string_equal(res[1].body, "{\"status\":\"ready\"}");
    assert_int_equal(res[2].status, 503);
    assert_string_equal(res[2].body, "{\"status\":\"not ready\"}");
    assert_int_equal(res[4].status, 200);
    assert_non_null(strcasestr(res[4].headers, "\r\nContent-Type: text/plain; version=0.0.4"));
    assert_non_null(
        strstr(res[4].body, "\ncarebus_http_requests_total{route=\"/v1/hello\",code=\"200\"} "));
    assert_non_null(
        strstr(res[4].body, "\ncarebus_http_requests_total{route=\"/readyz\",code=\"503\"} "));
    assert_non_null(strstr(res[4].body, "# TYPE carebus_http_requests_total counter\n"));
    assert_non_null(strstr(res[4].body, "# TYPE carebus_http_request_duration_seconds summary\n"));
    assert_non_null(
        strstr(res[4].body, "\ncarebus_http_request_duration_seconds_count{route=\"/healthz\"} "));
    assert_true(metrics_get("carebus_http_requests_total{route=\"/healthz\",code=\"200\"}") >= 1);
    assert_int_equal(res[5].rc, CURLE_OK);
    assert_int_equal(res[5].status, 200);
}

static void c_suspended(CURL *c)
{
    get(c, &res[0], "/v1/slow");
    get(c, &res[1], "/v1/hello"); /* same connection after a resume */
    get(c, &res[2], "/v1/slow");
}

static void test_suspended(void **state)
{
    (void)state;
    run_client(c_suspended);
    assert_int_equal(res[0].rc, CURLE_OK);
    assert_int_equal(res[0].status, 200);
    assert_string_equal(res[0].body, "{\"late\":\"slow\"}");
    assert_int_equal(res[1].status, 200);
    assert_int_equal(res[1].connects, 0);
    assert_int_equal(res[2].status, 200);
    assert_int_equal(res[2].connects, 0);
    assert_int_equal(atomic_load(&slow_answers), 2);
    assert_int_equal(atomic_load(&data_freed), 2);
}

static void *slow_getter(void *arg)
{
    CURL *c = curl_easy_init();
    client_timeout_ms = 3000;
    get(c, arg, "/v1/slow");
    curl_easy_cleanup(c);
    return NULL;
}

static void c_released(CURL *c)
{
    pthread_t t;
    if (pthread_create(&t, NULL, slow_getter, &res[0]) != 0)
        return;
    while (!atomic_load(&slow_waiting))
        usleep(1000);
    req(c, &res[1], "POST", "/v1/release", "x", 1, false, NULL);
    pthread_join(t, NULL);
}

/* A suspended request answered from inside another handler (while MHD_run
 * is on the stack) must not wait for the next unrelated event. */
static void test_suspended_answered_by_handler(void **state)
{
    (void)state;
    slow_delay_ms = 1000000; /* the timer never answers it */
    run_client(c_released);
    assert_int_equal(res[1].status, 204);
    assert_int_equal(res[0].rc, CURLE_OK);
    assert_int_equal(res[0].status, 200);
    assert_string_equal(res[0].body, "{\"released\":\"slow\"}");
    assert_int_equal(atomic_load(&data_freed), 1);
}

static void c_client_gone(CURL *c)
{
    get(c, &res[0], "/v1/hello");
    client_timeout_ms = 30;
    get(c, &res[1], "/v1/slow");
    client_timeout_ms = 10000;
    /* Wait until the timer has answered the abandoned request. */
    for (int i = 0; i < 500 && atomic_load(&slow_answers) == 0; i++)
        usleep(2000);
    get(c, &res[2], "/v1/hello");
}

static void test_suspended_client_gone(void **state)
{
    (void)state;
    slow_delay_ms = 150;
    run_client(c_client_gone);
    assert_int_equal(res[0].status, 200);
    assert_int_equal(res[1].rc, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(atomic_load(&slow_answers), 1);
    assert_int_equal(res[2].status, 200);
    /* The answer had nowhere to go; the request was still freed. Its
     * completion may need one more turn of the loop: it is freed by the
     * time the server is destroyed at the latest. */
    http_server_destroy(&fx.s);
    assert_int_equal(atomic_load(&data_freed), 1);
}

static void c_forgot_and_errors(CURL *c)
{
    get(c, &res[0], "/v1/forgot");
    get(c, &res[1], "/v1/error");
    get(c, &res[2], "/v1/error?bad=1");
}

static void test_forgot_and_errors(void **state)
{
    (void)state;
    run_client(c_forgot_and_errors);
    assert_error(&res[0], 500, "internal");
    assert_error(&res[1], 422, "invalid");
    json_t *j = body_json(&res[1]);
    assert_string_equal(jstr(j, "error", "field"), "name");
    assert_string_equal(jstr(j, "error", "message"), "bad value \"x\"");
    json_decref(j);
    /* Invalid UTF-8 in a message is replaced, never a lost answer. */
    assert_error(&res[2], 422, "invalid");
    j = body_json(&res[2]);
    assert_string_equal(jstr(j, "error", "message"), "bad value \"??\"");
    assert_null(json_object_get(json_object_get(j, "error"), "field"));
    json_decref(j);
}

static void c_never(CURL *c)
{
    get(c, &res[0], "/v1/never");
}

static void test_destroy_answers_suspended(void **state)
{
    (void)state;
    run_client(c_never);
    assert_null(fx.s); /* the timer destroyed it */
    assert_error(&res[0], 503, "shutting_down");
    assert_non_null(strcasestr(res[0].headers, "\r\nRetry-After: 1\r\n"));
    assert_int_equal(atomic_load(&data_freed), 1);
}

/* An idle connection is closed after CAREBUS_HTTP_TIMEOUT_S: MHD's timeout
 * reaches the loop through the timer. */
static atomic_long idle_closed_ms;

static void c_idle(CURL *c)
{
    (void)c;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int64_t t0 = now_ms();
    char b[16];
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && recv(fd, b, sizeof b, 0) == 0)
        atomic_store(&idle_closed_ms, (long)(now_ms() - t0));
    close(fd);
}

static int setup_short_timeout(void **state)
{
    setenv("CAREBUS_HTTP_TIMEOUT_S", "1", 1);
    return setup(state);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    atomic_store(&idle_closed_ms, -1);
    run_client(c_idle);
    long ms = atomic_load(&idle_closed_ms);
    assert_true(ms >= 900 && ms < 3000);
}

/* Sends raw bytes on a new connection; reads the answer until the server
 * closes or 2 s pass (answer NULL: close at once). */
static void raw(const char *data, size_t len, char *answer, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && send(fd, data, len, 0) >= 0 &&
        answer) {
        size_t off = 0;
        ssize_t n;
        while (off + 1 < size && (n = recv(fd, answer + off, size - 1 - off, 0)) > 0)
            off += (size_t)n;
        answer[off] = '\0';
    }
    close(fd);
}

static char raw_answer[3][512];

static void c_malformed(CURL *c)
{
    static const char partial[] = "GET /v1/hello HTTP/1.1\r\nHost: x\r\n";
    raw(partial, sizeof partial - 1, NULL, 0);
    static const char short_body[] = "POST /v1/echo HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Length: 100\r\n\r\nonly this";
    raw(short_body, sizeof short_body - 1, NULL, 0);
    static const char garbage[] = "BLAH\r\n\r\n";
    raw(garbage, sizeof garbage - 1, raw_answer[0], sizeof raw_answer[0]);
    /* Headers larger than MHD's per-connection memory. */
    static char huge[48 * 1024];
    int n = snprintf(huge, sizeof huge, "GET /v1/hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(huge + n, 'b', sizeof huge - (size_t)n);
    memcpy(huge + sizeof huge - 4, "\r\n\r\n", 4);
    raw(huge, sizeof huge, raw_answer[1], sizeof raw_answer[1]);
    static const char ok[] = "GET /v1/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    raw(ok, sizeof ok - 1, raw_answer[2], sizeof raw_answer[2]);
    get(c, &res[0], "/v1/hello");
}

/* Requests MHD gives up on must still free what the URI callback made (the
 * check is ASan's or valgrind's leak report). */
static void test_malformed_requests(void **state)
{
    (void)state;
    run_client(c_malformed);
    assert_true(strncmp(raw_answer[0], "HTTP/1.1 4", 10) == 0 || raw_answer[0][0] == '\0');
    assert_true(strncmp(raw_answer[1], "HTTP/1.1 4", 10) == 0 || raw_answer[1][0] == '\0');
    assert_true(strncmp(raw_answer[2], "HTTP/1.1 200", 12) == 0);
    assert_non_null(strstr(raw_answer[2], "{\"hello\":\"world\"}"));
    assert_int_equal(res[0].status, 200);
    assert_int_equal(atomic_load(&echo_calls), 0);
}

static char v6_url[64];

static void c_ipv6(CURL *c)
{
    memset(&res[0], 0, sizeof res[0]);
    curl_easy_setopt(c, CURLOPT_URL, v6_url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &res[0]);
    res[0].rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res[0].status);
}

static void test_ipv6(void **state)
{
    (void)state;
    struct http_server_opts o = {.addr = "::1", .port = 0};
    http_server *s6 = http_server_new(fx.l, &o);
    if (!s6)
        skip(); /* no IPv6 on this machine */
    snprintf(v6_url, sizeof v6_url, "http://[::1]:%d/healthz", http_server_port(s6));
    run_client(c_ipv6);
    http_server_destroy(&s6);
    assert_int_equal(res[0].rc, CURLE_OK);
    assert_int_equal(res[0].status, 200);
    assert_string_equal(res[0].body, "{\"status\":\"ok\"}");
}

static void test_bad_config(void **state)
{
    (void)state;
    loop *l = loop_new();
    assert_non_null(l);
    struct http_server_opts o = {.addr = "not-an-address", .port = 0};
    assert_null(http_server_new(l, &o));
    o.addr = "127.0.0.1";
    setenv("CAREBUS_HTTP_TIMEOUT_S", "soon", 1);
    assert_null(http_server_new(l, &o));
    unsetenv("CAREBUS_HTTP_TIMEOUT_S");
    /* The port taken by the fixture's server. */
    o.port = fx.port;
    assert_null(http_server_new(l, &o));
    loop_destroy(&l);
}

int main(int argc, char **argv)
{
    log_set_level(LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_near_the_pool_are_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guard_cookies_and_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builtins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspended_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspended_answered_by_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forgot_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_answers_suspended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup_short_timeout, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    int rc = cmocka_run_group_tests_name("http", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
