/* event.c — the envelope: its type names, packing and timestamps.
 *
 * The type names and enum spellings are derived from the schema's
 * descriptors (vocab.c): adding a body or an enum value to events.proto
 * needs nothing here. Timestamps follow google.protobuf.Timestamp: seconds
 * are floored and nanos are always in [0, 1e9), also before 1970.
 */
#include "event.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "vocab.h"

const char *event_type_name(Carebus__V1__Envelope__BodyCase c)
{
    return vocab_event_type((int)c);
}

uint8_t *event_pack(const event *ev, size_t *len)
{
    size_t n = carebus__v1__envelope__get_packed_size(ev);
    /* An all-default envelope packs to 0 bytes; malloc(0) may be NULL. */
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL)
        return NULL;
    size_t w = carebus__v1__envelope__pack(ev, buf);
    assert(w == n);
    (void)w;
    *len = n;
    return buf;
}

event *event_unpack(const uint8_t *buf, size_t len)
{
    if (len > EVENT_MAX_SIZE)
        return NULL;
    return carebus__v1__envelope__unpack(NULL, len, buf);
}

void event_destroy(event **pev)
{
    if (pev == NULL || *pev == NULL)
        return;
    carebus__v1__envelope__free_unpacked(*pev, NULL);
    *pev = NULL;
}

#define US_PER_SEC INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)

/* 0 for an absent timestamp. A value off the wire may be out of the
 * Timestamp range: it saturates instead of overflowing. */
int64_t event_ts_us(const Google__Protobuf__Timestamp *ts)
{
    if (ts == NULL)
        return 0;
    int64_t s = ts->seconds;
    int64_t ns = ts->nanos;
    /* The margin covers the carry of up to 3 s from nanos below. */
    if (s > INT64_MAX / US_PER_SEC - 4)
        return INT64_MAX;
    if (s < INT64_MIN / US_PER_SEC + 4)
        return INT64_MIN;
    /* Normalise nanos outside [0, 1e9) (only a foreign producer sends them). */
    s += ns / NS_PER_SEC;
    ns %= NS_PER_SEC;
    if (ns < 0) {
        ns += NS_PER_SEC;
        s -= 1;
    }
    return s * US_PER_SEC + ns / 1000;
}

/* ts must be initialised (GOOGLE__PROTOBUF__TIMESTAMP__INIT); only seconds
 * and nanos are written. */
void event_ts_set(Google__Protobuf__Timestamp *ts, int64_t us)
{
    int64_t s = us / US_PER_SEC;
    int64_t r = us % US_PER_SEC;
    if (r < 0) {
        r += US_PER_SEC;
        s -= 1;
    }
    ts->seconds = s;
    ts->nanos = (int32_t)(r * 1000);
}
