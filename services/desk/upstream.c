/* upstream.c — one HTTP call to channel-ingest on a worker's curl handle.
 *
 * The handle is reset between calls but keeps its connection cache, so a
 * worker reuses its loopback connection. Redirects are not followed and no
 * proxy from the environment is used: the call goes where it is told.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "upstream.h"

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    buf *b = arg;
    buf_append(b, data, size * n);
    return b->failed ? 0 : size * n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return pool_stopping(arg) ? 1 : 0;
}

int upstream_call(CURL *c, const pool *p, const char *base, const char *key, const char *method,
                  const char *path_query, const char *body, size_t len, long timeout_s,
                  struct upstream_answer *out)
{
    out->status = 0;
    out->type[0] = '\0';
    out->retry_after = 0;
    if (!c)
        return -1;
    curl_easy_reset(c);
    char url[4096];
    int n = snprintf(url, sizeof url, "%s%s", base, path_query);
    if (n < 0 || (size_t)n >= sizeof url)
        return -1;
    struct curl_slist *h = NULL;
    char auth[256];
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth);
    }
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)p);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (rc != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(out->type, sizeof out->type, "%s", ct ? ct : "application/json");
    curl_off_t after = 0;
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
        out->retry_after = after < 86400 ? (long)after : 86400;
    return 0;
}
