/* datakey.c — sealing and opening the personal fields of stored events.
 *
 * AES-256-GCM through OpenSSL's EVP for both the fields (under the event's
 * data key) and the data key itself (under the master key, with the event
 * id as additional data, so a wrapped key cannot be moved to another
 * event). The ring holds the current master key and old ones: a wrapped
 * key names its master key's id, so during a rotation (carebusctl master-key
 * rotate) keys wrapped by either open. Each data key seals one event only,
 * so the fields' nonces are a counter; the wrap's nonce is random. Subtle: a field's text could
 * start with DATAKEY_PREFIX by chance: with a master key every non-empty personal field is sealed,
 * so a plain one never reaches a reader as sealed.
 */
#include "datakey.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64url.h"
#include "buf.h"
#include "config.h"
#include "event.h"
#include "gcm.h"
#include "keyfile.h"
#include "log.h"
#include "personal.h"

#define NONCE_LEN GCM_NONCE_LEN
#define TAG_LEN GCM_TAG_LEN
#define WRAP_VERSION 1
#define PREFIX_LEN (sizeof DATAKEY_PREFIX - 1)

struct master_key {
    uint8_t key[DATAKEY_LEN];
    uint8_t id[DATAKEY_MASTER_ID_LEN]; /* SHA-256 of the key, cut */
};

/* The key ring: ring[0] is the current key (wraps new data keys), the
 * others only unwrap, each found by the id a wrapped key names. */
static struct {
    int loaded; /* 0: not yet; else 1 + datakey_master_load's answer */
    bool set;
    size_t n;
    struct master_key ring[DATAKEY_RING_MAX];
} master;

#define CURRENT (&master.ring[0])

void datakey_master_id(const uint8_t *key, uint8_t id[DATAKEY_MASTER_ID_LEN])
{
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hn = 0;
    int ok = EVP_Digest(key, DATAKEY_LEN, h, &hn, EVP_sha256(), NULL);
    assert(ok == 1 && hn >= DATAKEY_MASTER_ID_LEN);
    memcpy(id, h, DATAKEY_MASTER_ID_LEN);
}

static void ring_put(struct master_key *m, const uint8_t *key)
{
    memcpy(m->key, key, DATAKEY_LEN);
    datakey_master_id(key, m->id);
}

void datakey_master_set(const uint8_t *key)
{
    OPENSSL_cleanse(master.ring, sizeof master.ring);
    master.set = key != NULL;
    master.loaded = 1 + (key != NULL);
    master.n = key != NULL;
    if (key)
        ring_put(CURRENT, key);
}

int datakey_master_add_old(const uint8_t *key)
{
    assert(master.set);
    uint8_t id[DATAKEY_MASTER_ID_LEN];
    datakey_master_id(key, id);
    for (size_t i = 0; i < master.n; i++)
        if (memcmp(master.ring[i].id, id, sizeof id) == 0)
            return 0; /* there already (the current one, or named twice) */
    if (master.n == DATAKEY_RING_MAX)
        return -1;
    ring_put(&master.ring[master.n++], key);
    return 0;
}

/* The ring's key of id, or NULL. */
static const struct master_key *ring_find(const uint8_t *id)
{
    for (size_t i = 0; i < master.n; i++)
        if (memcmp(master.ring[i].id, id, DATAKEY_MASTER_ID_LEN) == 0)
            return &master.ring[i];
    return NULL;
}

/* The old keys' files, comma-separated in list, into the ring. 0 or -1. */
static int master_read_old(const char *list)
{
    if (!list)
        return 0;
    char *copy = strdup(list), *save = NULL;
    int rc = copy ? 0 : -1;
    for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p && rc == 0;
         p = strtok_r(NULL, ",", &save)) {
        uint8_t key[DATAKEY_LEN];
        char err[300];
        if (keyfile_read(p, key, err, sizeof err) != 0) {
            log_error("CAREBUS_MASTER_KEYS_OLD: %s", err);
            rc = -1;
        } else if (datakey_master_add_old(key) != 0) {
            log_error("CAREBUS_MASTER_KEYS_OLD: more than %d keys", DATAKEY_RING_MAX - 1);
            rc = -1;
        }
        OPENSSL_cleanse(key, sizeof key);
    }
    free(copy);
    return rc;
}

static int master_read(void)
{
    uint8_t key[DATAKEY_LEN];
    int rc = keyfile_load("MASTER_KEY", key);
    if (rc < 0)
        return -1;
    if (rc == 0 && config_str("MASTER_KEYS_OLD", NULL)) {
        log_error("CAREBUS_MASTER_KEYS_OLD without a current key (CAREBUS_MASTER_KEY_FILE)");
        return -1;
    }
    if (rc == 0) {
        log_warn("no CAREBUS_MASTER_KEY or CAREBUS_MASTER_KEY_FILE: personal data is stored"
                 " unencrypted and erasure cannot make it unreadable in the event log");
        return 0;
    }
    datakey_master_set(key);
    OPENSSL_cleanse(key, sizeof key);
    if (master_read_old(config_str("MASTER_KEYS_OLD", NULL)) != 0) {
        datakey_master_set(NULL); /* no half ring */
        return -1;
    }
    return 1;
}

int datakey_master_load(void)
{
    if (!master.loaded)
        master.loaded = 1 + master_read();
    return master.loaded - 1;
}

bool datakey_enabled(void)
{
    return datakey_master_load() == 1 && master.set;
}

bool datakey_is_sealed(const char *s)
{
    return s && strncmp(s, DATAKEY_PREFIX, PREFIX_LEN) == 0;
}

/* --- wrapping ---------------------------------------------------------- */

/* key wrapped by m for event_id into w. 0 or -1. */
static int wrap(EVP_CIPHER_CTX *c, const struct master_key *m, const char *event_id,
                const uint8_t key[DATAKEY_LEN], uint8_t w[DATAKEY_WRAPPED_LEN])
{
    w[0] = WRAP_VERSION;
    memcpy(w + 1, m->id, DATAKEY_MASTER_ID_LEN);
    uint8_t *nonce = w + 1 + DATAKEY_MASTER_ID_LEN;
    if (RAND_bytes(nonce, NONCE_LEN) != 1)
        return -1;
    return gcm_seal(c, m->key, nonce, (const uint8_t *)event_id, strlen(event_id), key, DATAKEY_LEN,
                    nonce + NONCE_LEN, nonce + NONCE_LEN + DATAKEY_LEN);
}

/* The data key in w (len bytes) of event_id into key, by the ring's key w
 * names: 0, or -1 logged. */
static int unwrap(EVP_CIPHER_CTX *c, const char *event_id, const uint8_t *w, size_t len,
                  uint8_t key[DATAKEY_LEN])
{
    if (len != DATAKEY_WRAPPED_LEN || w[0] != WRAP_VERSION) {
        log_error("datakey: event %s: the stored data key is not one this version reads", event_id);
        return -1;
    }
    const struct master_key *m = datakey_enabled() ? ring_find(w + 1) : NULL;
    if (!m) {
        log_error("datakey: event %s: its data key is wrapped by another master key than"
                  " this process's",
                  event_id);
        return -1;
    }
    const uint8_t *nonce = w + 1 + DATAKEY_MASTER_ID_LEN;
    if (gcm_open(c, m->key, nonce, (const uint8_t *)event_id, strlen(event_id), nonce + NONCE_LEN,
                 DATAKEY_LEN, nonce + NONCE_LEN + DATAKEY_LEN, key) != 0) {
        log_error("datakey: event %s: its data key does not unwrap", event_id);
        return -1;
    }
    return 0;
}

int datakey_rewrap(const char *event_id, const uint8_t *wrapped, size_t len,
                   uint8_t out[DATAKEY_WRAPPED_LEN])
{
    if (!datakey_enabled())
        return -1;
    if (len == DATAKEY_WRAPPED_LEN && memcmp(wrapped + 1, CURRENT->id, DATAKEY_MASTER_ID_LEN) == 0)
        return 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t key[DATAKEY_LEN];
    int rc = -1;
    if (c && unwrap(c, event_id, wrapped, len, key) == 0)
        rc = wrap(c, CURRENT, event_id, key, out) == 0 ? 1 : -1;
    OPENSSL_cleanse(key, sizeof key);
    EVP_CIPHER_CTX_free(c);
    return rc;
}

/* --- fields ------------------------------------------------------------ */

struct field_ctx {
    EVP_CIPHER_CTX *cipher;
    uint8_t key[DATAKEY_LEN];
    bool have_key;          /* sealing: a key was drawn (some field was set) */
    const uint8_t *wrapped; /* opening: NULL when destroyed */
    uint64_t counter;
};

static int seal_field(char **s, void *arg)
{
    struct field_ctx *x = arg;
    if (!(*s)[0])
        return 0;
    if (!x->have_key) {
        if (RAND_bytes(x->key, DATAKEY_LEN) != 1)
            return -1;
        x->have_key = true;
    }
    size_t n = strlen(*s);
    uint8_t *blob = malloc(NONCE_LEN + n + TAG_LEN);
    char *text = malloc(PREFIX_LEN + BASE64URL_LEN(NONCE_LEN + n + TAG_LEN) + 1);
    int rc = -1;
    if (!blob || !text)
        goto out;
    memset(blob, 0, NONCE_LEN);
    uint64_t c = ++x->counter;
    for (int i = 0; i < 8; i++)
        blob[NONCE_LEN - 1 - i] = (uint8_t)(c >> (8 * i));
    if (gcm_seal(x->cipher, x->key, blob, NULL, 0, (const uint8_t *)*s, n, blob + NONCE_LEN,
                 blob + NONCE_LEN + n) != 0)
        goto out;
    memcpy(text, DATAKEY_PREFIX, PREFIX_LEN);
    base64url_encode(blob, NONCE_LEN + n + TAG_LEN, text + PREFIX_LEN);
    if ((*s) != protobuf_c_empty_string)
        free(*s);
    *s = text;
    text = NULL;
    rc = 0;
out:
    free(blob);
    free(text);
    return rc;
}

static int open_field(char **s, void *arg)
{
    struct field_ctx *x = arg;
    if (!datakey_is_sealed(*s))
        return 0;
    if (!x->wrapped)
        return event_set_str(s, DATAKEY_ERASED);
    const char *b64 = *s + PREFIX_LEN;
    size_t bn = strlen(b64);
    size_t cap = bn * 3 / 4 + 3;
    uint8_t *blob = malloc(cap);
    char *pt = malloc(cap + 1);
    int rc = -1;
    if (!blob || !pt)
        goto out;
    int n = base64url_decode(b64, bn, blob, cap);
    if (n < NONCE_LEN + TAG_LEN)
        goto out;
    size_t m = (size_t)n - NONCE_LEN - TAG_LEN;
    if (gcm_open(x->cipher, x->key, blob, NULL, 0, blob + NONCE_LEN, m, blob + NONCE_LEN + m,
                 (uint8_t *)pt) != 0)
        goto out;
    pt[m] = '\0';
    free(*s);
    *s = pt;
    pt = NULL;
    rc = 0;
out:
    free(blob);
    free(pt);
    return rc;
}

/* The envelope packed into out. 0 or -1. */
static int pack_into(const event *ev, buf *out)
{
    size_t n;
    uint8_t *p = event_pack(ev, &n);
    if (!p)
        return -1;
    buf_reset(out);
    buf_append(out, p, n);
    free(p);
    return out->failed ? -1 : 0;
}

int datakey_seal(const uint8_t *plain, size_t len, const char *event_id, buf *out,
                 uint8_t wrapped[DATAKEY_WRAPPED_LEN])
{
    if (!datakey_enabled())
        return 0;
    event *ev = event_unpack(plain, len);
    if (!ev) {
        log_error("datakey: an event to seal does not decode");
        return -1;
    }
    struct field_ctx x = {.cipher = EVP_CIPHER_CTX_new()};
    int rc = -1;
    if (!x.cipher || personal_walk(&ev->base, seal_field, &x) != 0) {
        log_error("datakey: could not seal event %s", event_id);
        goto out;
    }
    if (!x.have_key) {
        rc = 0;
        goto out;
    }
    uint8_t *w = wrapped;
    w[0] = WRAP_VERSION;
    if (wrap(x.cipher, CURRENT, event_id, x.key, wrapped) != 0 || pack_into(ev, out) != 0) {
        log_error("datakey: could not seal event %s", event_id);
        goto out;
    }
    rc = 1;
out:
    OPENSSL_cleanse(x.key, sizeof x.key);
    EVP_CIPHER_CTX_free(x.cipher);
    event_destroy(&ev);
    return rc;
}

int datakey_open(const uint8_t *stored, size_t len, const uint8_t *wrapped, size_t wrapped_len,
                 buf *out)
{
    /* Most events hold nothing personal: no decoding for them. */
    if (!memmem(stored, len, DATAKEY_PREFIX, PREFIX_LEN))
        return 0;
    event *ev = event_unpack(stored, len);
    if (!ev) {
        log_error("datakey: a stored event does not decode");
        return -1;
    }
    struct field_ctx x = {.cipher = EVP_CIPHER_CTX_new(), .wrapped = wrapped};
    int rc = -1;
    const char *id = ev->event_id ? ev->event_id : "";
    if (!x.cipher)
        goto out;
    if (wrapped && unwrap(x.cipher, id, wrapped, wrapped_len, x.key) != 0)
        goto out;
    if (personal_walk(&ev->base, open_field, &x) != 0) {
        log_error("datakey: event %s: a sealed field does not open", id);
        goto out;
    }
    rc = pack_into(ev, out) == 0 ? 1 : -1;
out:
    OPENSSL_cleanse(x.key, sizeof x.key);
    EVP_CIPHER_CTX_free(x.cipher);
    event_destroy(&ev);
    return rc;
}
