/* signature.c — webhook signatures (see signature.h for the schemes).
 *
 * Sources followed:
 *  - Meta: developers.facebook.com/docs/graph-api/webhooks/getting-started
 *    ("Validating Payloads": X-Hub-Signature-256 is "sha256=" and the hex
 *    HMAC-SHA256 of the raw payload keyed by the app secret).
 *  - Zalo OA: the webhook guide summarised at hainh.me/zalo-api-php-webhook-
 *    callback-official-account.html (SHA-256 of app id, body, the payload's
 *    timestamp and the OA secret key, in that order; the OA secret, not the
 *    app secret) and the same check in chatwoot/chatwoot
 *    app/jobs/webhooks/zalo_events_job.rb ("mac=" + hexdigest).
 *  - Twilio: twilio.com/docs/usage/webhooks/webhooks-security (the URL as
 *    configured, query string included, then every POST parameter sorted
 *    by name with its value appended, no delimiters; HMAC-SHA1 keyed by the
 *    auth token; base64).
 */
#include "signature.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

int signature_sha256(const struct hmac_part *parts, size_t nparts, unsigned char out[32])
{
    int rc = -1;
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n && EVP_DigestUpdate(ctx, parts[i].p, parts[i].n) != 1)
            goto out;
    if (EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32)
        goto out;
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

bool signature_token_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    /* Hashing first makes the comparison independent of both lengths. */
    unsigned char ha[32], hb[32];
    struct hmac_part pa = {a, strlen(a)}, pb = {b, strlen(b)};
    if (signature_sha256(&pa, 1, ha) != 0 || signature_sha256(&pb, 1, hb) != 0)
        return false;
    return hmac_equal(ha, hb, sizeof ha);
}

/* The header's value after a case-insensitive prefix, without surrounding
 * blanks; NULL when the prefix is missing. */
static const char *after_prefix(const char *header, const char *prefix, size_t *len)
{
    if (!header)
        return NULL;
    while (*header == ' ' || *header == '\t')
        header++;
    size_t pl = strlen(prefix);
    if (strncasecmp(header, prefix, pl) != 0)
        return NULL;
    const char *v = header + pl;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *len = n;
    return v;
}

bool signature_meta_ok(const char *header, const char *app_secret, const char *body, size_t len)
{
    size_t hl;
    const char *hex = after_prefix(header, "sha256=", &hl);
    if (!hex || !app_secret)
        return false;
    unsigned char mac[HMAC_MAX_LEN];
    struct hmac_part part = {body, len};
    if (hmac_compute(HMAC_SHA256, app_secret, strlen(app_secret), &part, 1, mac) != 0)
        return false;
    return hmac_equal_hex(hex, hl, mac, HMAC_SHA256_LEN);
}

bool signature_zalo_ok(const char *header, const char *app_id, const char *body, size_t len,
                       const char *timestamp, const char *oa_secret)
{
    size_t hl;
    const char *hex = after_prefix(header, "mac=", &hl);
    if (!hex || !app_id || !oa_secret || !timestamp)
        return false;
    unsigned char mac[32];
    struct hmac_part parts[] = {
        {app_id, strlen(app_id)},
        {body, len},
        {timestamp, strlen(timestamp)},
        {oa_secret, strlen(oa_secret)},
    };
    if (signature_sha256(parts, sizeof parts / sizeof parts[0], mac) != 0)
        return false;
    return hmac_equal_hex(hex, hl, mac, sizeof mac);
}

/* Unix-style case-sensitive order of names; equal names by value, so that
 * the order is total whatever order the body had. */
static int pair_cmp(const void *a, const void *b)
{
    const struct form_pair *x = *(const struct form_pair *const *)a;
    const struct form_pair *y = *(const struct form_pair *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

int signature_twilio(const char *auth_token, const char *url, const struct form *f,
                     char out[SIGNATURE_TWILIO_LEN])
{
    int rc = -1;
    buf b = BUF_INIT;
    const struct form_pair **sorted = malloc((f->n ? f->n : 1) * sizeof *sorted);
    if (!sorted)
        goto out;
    for (size_t i = 0; i < f->n; i++)
        sorted[i] = &f->pairs[i];
    qsort(sorted, f->n, sizeof *sorted, pair_cmp);
    buf_puts(&b, url);
    for (size_t i = 0; i < f->n; i++) {
        buf_puts(&b, sorted[i]->name);
        buf_puts(&b, sorted[i]->value);
    }
    if (b.failed)
        goto out;
    unsigned char mac[HMAC_MAX_LEN];
    struct hmac_part part = {buf_str(&b), b.len};
    if (hmac_compute(HMAC_SHA1, auth_token, strlen(auth_token), &part, 1, mac) != 0)
        goto out;
    /* 20 bytes are 28 base64 characters (one "=" of padding), NUL added. */
    if (EVP_EncodeBlock((unsigned char *)out, mac, HMAC_SHA1_LEN) != SIGNATURE_TWILIO_LEN - 1)
        goto out;
    rc = 0;
out:
    free(sorted);
    buf_release(&b);
    return rc;
}

bool signature_twilio_ok(const char *header, const char *auth_token, const char *url,
                         const struct form *f)
{
    size_t hl;
    const char *got = after_prefix(header, "", &hl);
    char want[SIGNATURE_TWILIO_LEN];
    if (!got || !auth_token || !url || hl != SIGNATURE_TWILIO_LEN - 1 ||
        signature_twilio(auth_token, url, f, want) != 0)
        return false;
    return hmac_equal(got, want, SIGNATURE_TWILIO_LEN - 1);
}
