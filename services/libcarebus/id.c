/* id.c — UUIDs through libuuid.
 *
 * Derived ids are v5 (SHA-1, RFC 4122 §4.3) within the carebus namespace
 * c5ef7fcb-2039-5452-af2a-718289004dea, itself uuid5(NAMESPACE_DNS,
 * "carebus.dev"), so anyone can recompute it. Never change it: every derived
 * id in every event log depends on it, and a rebuild must equal the live
 * state. tests/unit/libcarebus/test_id.c pins a derived value.
 */
#include "id.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

static const uuid_t id_namespace = {
    0xc5, 0xef, 0x7f, 0xcb, 0x20, 0x39, 0x54, 0x52, 0xaf, 0x2a, 0x71, 0x82, 0x89, 0x00, 0x4d, 0xea,
};

void id_new(char out[ID_LEN])
{
    uuid_t u;
    uuid_generate_random(u);
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
