/* id.c — UUIDs: random (v4) ones from a per-thread buffer of getrandom(2)
 * bytes, name-based (v5) ones through libuuid.
 *
 * libuuid's uuid_generate_random costs five system calls an id (it reseeds
 * its fallback generator with getpid, getuid and the time, then reads
 * getrandom for 16 bytes): about 6% of channel-ingest's CPU at its rate of
 * one new id a request. Here one getrandom call fills ID_POOL bytes, 256
 * ids; a child process forked from a thread starts with an empty buffer
 * (pthread_atfork), so parent and child never hand out the same id.
 *
 * Derived ids are v5 (SHA-1, RFC 4122 §4.3) within the carebus namespace
 * c5ef7fcb-2039-5452-af2a-718289004dea, itself uuid5(NAMESPACE_DNS,
 * "carebus.dev"), so anyone can recompute it. Never change it: every derived
 * id in every event log depends on it, and a rebuild must equal the live
 * state. tests/unit/libcarebus/test_id.c pins a derived value.
 */
#include "id.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

static const uuid_t id_namespace = {
    0xc5, 0xef, 0x7f, 0xcb, 0x20, 0x39, 0x54, 0x52, 0xaf, 0x2a, 0x71, 0x82, 0x89, 0x00, 0x4d, 0xea,
};

#define ID_POOL 4096 /* bytes of randomness read at once: 256 ids */

static _Thread_local struct {
    uint8_t bytes[ID_POOL];
    size_t used; /* ID_POOL: empty */
} id_pool = {.used = ID_POOL};

static pthread_once_t id_pool_once = PTHREAD_ONCE_INIT;

static void id_pool_empty(void)
{
    id_pool.used = ID_POOL;
}

static void id_pool_register(void)
{
    (void)pthread_atfork(NULL, NULL, id_pool_empty);
}

/* Refills the calling thread's buffer; false when the kernel's generator
 * failed (then libuuid's own way is used). */
static bool id_pool_fill(void)
{
    size_t got = 0;
    while (got < ID_POOL) {
        ssize_t n = getrandom(id_pool.bytes + got, ID_POOL - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    id_pool.used = 0;
    return true;
}

void id_new(char out[ID_LEN])
{
    uuid_t u;
    pthread_once(&id_pool_once, id_pool_register);
    if (id_pool.used + sizeof u > ID_POOL && !id_pool_fill()) {
        uuid_generate_random(u);
    } else {
        memcpy(u, id_pool.bytes + id_pool.used, sizeof u);
        memset(id_pool.bytes + id_pool.used, 0, sizeof u); /* handed out once */
        id_pool.used += sizeof u;
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 (RFC 4122 §4.4) */
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
    }
    uuid_unparse_lower(u, out);
}

static void id_derive_n(const char *name, size_t len, char out[ID_LEN])
{
    uuid_t u;
    uuid_generate_sha1(u, id_namespace, name, len);
    uuid_unparse_lower(u, out);
}

void id_derive(const char *name, char out[ID_LEN])
{
    assert(name != NULL);
    id_derive_n(name, strlen(name), out);
}

/* XXX: the join is ambiguous when a or b contains '/' ("x/y"+"z" = "x"+"y/z");
 * callers pass ids and fixed words, which never do. */
void id_derive2(const char *a, const char *b, char out[ID_LEN])
{
    assert(a != NULL && b != NULL);
    size_t la = strlen(a), lb = strlen(b);
    /* Names are mostly two UUIDs or a UUID and a word: the stack suffices. */
    char small[256];
    char *name = small;
    if (la + lb + 1 > sizeof small) {
        name = malloc(la + lb + 1);
        /* XXX: the void contract has no way to report failure, and a wrong
         * id would corrupt the log; out of memory here is fatal. */
        if (name == NULL)
            abort();
    }
    memcpy(name, a, la);
    name[la] = '/';
    memcpy(name + la + 1, b, lb);
    id_derive_n(name, la + lb + 1, out);
    if (name != small)
        free(name);
}

bool id_valid(const char *s)
{
    uuid_t u;
    return s != NULL && strlen(s) == ID_LEN - 1 && uuid_parse(s, u) == 0;
}

bool id_canonical(const char *s)
{
    if (!id_valid(s))
        return false;
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'F')
            return false;
    return true;
}
