/* tz.c — TZif (RFC 8536) reading and UTC <-> local conversion.
 *
 * A zone is two arrays: transition instants (UTC epoch seconds, ascending)
 * and the offset in effect from each of them on, plus the offset before the
 * first (time type 0, as RFC 8536 section 3.2 says). Only the version 2+
 * (64-bit) data block is read; the footer's POSIX TZ rule ("CET-1CEST,
 * M3.5.0,M10.5.0/3") governs after the last transition and is expanded into
 * explicit transitions year by year, so lookups never evaluate a rule.
 * Transitions that do not change the offset (abbreviation or isdst changes
 * only) are dropped: the calendars only need offsets.
 */
#include "tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"

#define TZ_MAX_FILE (512 * 1024)
#define SECS_PER_DAY INT64_C(86400)
#define US INT64_C(1000000)

struct tz {
    char *name;
    int64_t *at;  /* transition instants, ascending */
    int32_t *off; /* offset from at[i] on */
    size_t n, cap;
    int32_t off0; /* before at[0] */
};

/* --- building ---------------------------------------------------------------- */

static int tz_push(tz *z, int64_t at, int32_t off)
{
    int32_t prev = z->n ? z->off[z->n - 1] : z->off0;
    if (off == prev)
        return 0;
    if (z->n && at <= z->at[z->n - 1])
        return -1;
    if (z->n == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 64;
        int64_t *a = realloc(z->at, cap * sizeof *a);
        if (!a)
            return -1;
        z->at = a;
        int32_t *o = realloc(z->off, cap * sizeof *o);
        if (!o)
            return -1;
        z->off = o;
        z->cap = cap;
    }
    z->at[z->n] = at;
    z->off[z->n] = off;
    z->n++;
    return 0;
}

void tz_destroy(tz **pz)
{
    tz *z = *pz;
    if (!z)
        return;
    free(z->name);
    free(z->at);
    free(z->off);
    free(z);
    *pz = NULL;
}

const char *tz_name(const tz *z)
{
    return z->name;
}

/* --- the POSIX TZ footer ------------------------------------------------------ */

struct tz_rule {
    char kind;    /* 'J', 'D' (zero-based day), 'M' */
    int a, b, c;  /* J: day; D: day; M: month, week, weekday */
    int32_t time; /* seconds after local midnight (may be negative or > 24h) */
};

struct tz_posix {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    struct tz_rule start, end;
};

static const char *posix_name(const char *p)
{
    if (*p == '<') {
        const char *q = strchr(p, '>');
        return q && q > p + 1 ? q + 1 : NULL;
    }
    const char *q = p;
    while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
        q++;
    return q - p >= 3 ? q : NULL;
}

/* [+-]hh[:mm[:ss]] with hours up to 167 (RFC 8536's extension). */
static const char *posix_hms(const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int parts[3] = {0, 0, 0}, n = 0;
    for (; n < 3; n++) {
        if (*p < '0' || *p > '9')
            return NULL;
        int v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        parts[n] = v;
        if (*p != ':')
            break;
        p++;
    }
    if (parts[0] > 167 || parts[1] > 59 || parts[2] > 59)
        return NULL;
    *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return p;
}

static const char *posix_int(const char *p, int *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int v = 0;
    while (*p >= '0' && *p <= '9' && v < 100000)
        v = v * 10 + (*p++ - '0');
    *out = v;
    return p;
}

static const char *posix_rule(const char *p, struct tz_rule *r)
{
    r->time = 7200; /* 02:00 by default */
    if (*p == 'J') {
        r->kind = 'J';
        if (!(p = posix_int(p + 1, &r->a)) || r->a < 1 || r->a > 365)
            return NULL;
    } else if (*p == 'M') {
        r->kind = 'M';
        if (!(p = posix_int(p + 1, &r->a)) || *p++ != '.' || !(p = posix_int(p, &r->b)) ||
            *p++ != '.' || !(p = posix_int(p, &r->c)))
            return NULL;
        if (r->a < 1 || r->a > 12 || r->b < 1 || r->b > 5 || r->c > 6)
            return NULL;
    } else {
        r->kind = 'D';
        if (!(p = posix_int(p, &r->a)) || r->a > 365)
            return NULL;
    }
    if (*p == '/' && !(p = posix_hms(p + 1, &r->time)))
        return NULL;
    return p;
}

static int posix_parse(const char *s, struct tz_posix *tp)
{
    memset(tp, 0, sizeof *tp);
    const char *p = posix_name(s);
    int32_t v;
    if (!p || !(p = posix_hms(p, &v)))
        return -1;
    tp->std_off = -v; /* POSIX counts west of Greenwich */
    if (!*p)
        return 0;
    if (!(p = posix_name(p)))
        return -1;
    tp->has_dst = true;
    tp->dst_off = tp->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = posix_hms(p, &v)))
            return -1;
        tp->dst_off = -v;
    }
    if (!*p) {
        /* POSIX leaves the default rules to the implementation; the tz
         * database never omits them. */
        return -1;
    }
    if (*p++ != ',' || !(p = posix_rule(p, &tp->start)) || *p++ != ',' ||
        !(p = posix_rule(p, &tp->end)) || *p)
        return -1;
    return 0;
}

/* The local midnight (seconds since the epoch, local) of the rule's day in y,
 * plus its time. */
static int64_t rule_local(const struct tz_rule *r, int64_t y)
{
    int64_t jan1 = civil_to_days(y, 1, 1), day;
    if (r->kind == 'J') {
        day = jan1 + r->a - 1 + (civil_is_leap(y) && r->a >= 60);
    } else if (r->kind == 'D') {
        day = jan1 + r->a;
    } else {
        int64_t first = civil_to_days(y, r->a, 1);
        int wd0 = civil_iso_weekday(first) % 7; /* 0 = Sunday, as POSIX counts */
        int64_t d = first + ((r->c - wd0 + 7) % 7) + (int64_t)(r->b - 1) * 7;
        while (d >= first + civil_days_in_month(y, r->a))
            d -= 7;
        day = d;
    }
    return day * SECS_PER_DAY + r->time;
}

/* Appends the footer's transitions after the last explicit one. */
static int tz_expand_footer(tz *z, const struct tz_posix *tp)
{
    /* Without daylight time the last transition's offset simply holds. */
    if (!tp->has_dst)
        return 0;
    int64_t last = z->n ? z->at[z->n - 1] : INT64_MIN;
    int64_t y0 = 1970;
    if (z->n) {
        int64_t y;
        int m, d;
        civil_from_days(civil_floor_div(last, SECS_PER_DAY), &y, &m, &d);
        y0 = y;
    }
    for (int64_t y = y0; y <= TZ_LAST_YEAR; y++) {
        /* Start is given in standard time, end in daylight time. */
        int64_t on = rule_local(&tp->start, y) - tp->std_off;
        int64_t off = rule_local(&tp->end, y) - tp->dst_off;
        int64_t t1 = on < off ? on : off, t2 = on < off ? off : on;
        int32_t o1 = on < off ? tp->dst_off : tp->std_off;
        int32_t o2 = on < off ? tp->std_off : tp->dst_off;
        if (t1 > last && tz_push(z, t1, o1) != 0)
            return -1;
        if (t2 > last && tz_push(z, t2, o2) != 0)
            return -1;
    }
    return 0;
}

/* --- TZif -------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int tzif_header(const uint8_t *p, size_t len, struct tzif_header *h, char *version)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    *version = (char)p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > 100000 || h->charcnt > 65536 ||
        h->leapcnt > 10000 || (h->isutcnt && h->isutcnt != h->typecnt) ||
        (h->isstdcnt && h->isstdcnt != h->typecnt))
        return -1;
    return 0;
}

static size_t tzif_block_len(const struct tzif_header *h, size_t timesize)
{
    return h->timecnt * timesize + h->timecnt + h->typecnt * 6 + h->charcnt +
           h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt;
}

tz *tz_parse(const char *name, const uint8_t *data, size_t len, const char **err)
{
    *err = "not a TZif file";
    struct tzif_header h;
    char version;
    if (tzif_header(data, len, &h, &version) != 0)
        return NULL;
    if (version < '2') {
        *err = "TZif version 1 (without 64-bit data) is not supported";
        return NULL;
    }
    size_t skip = 44 + tzif_block_len(&h, 4);
    if (skip > len || tzif_header(data + skip, len - skip, &h, &version) != 0)
        return NULL;
    const uint8_t *p = data + skip + 44;
    size_t block = tzif_block_len(&h, 8);
    if ((size_t)(p - data) + block > len)
        return NULL;
    if (h.leapcnt) {
        *err = "zones with leap seconds (right/...) are not supported";
        return NULL;
    }
    const uint8_t *times = p, *idx = p + h.timecnt * 8, *types = idx + h.timecnt;
    tz *z = calloc(1, sizeof *z);
    if (!z || !(z->name = strdup(name))) {
        *err = "out of memory";
        goto fail;
    }
    z->off0 = (int32_t)be32(types);
    for (uint32_t i = 0; i < h.timecnt; i++) {
        if (idx[i] >= h.typecnt)
            goto fail;
        if (tz_push(z, be64(times + 8 * i), (int32_t)be32(types + 6 * idx[i])) != 0) {
            *err = "transitions out of order";
            goto fail;
        }
    }
    /* The footer: "\n<POSIX TZ>\n", possibly empty. */
    const char *f = (const char *)p + block;
    size_t flen = len - (size_t)(p - data) - block;
    if (flen >= 2 && f[0] == '\n') {
        const char *nl = memchr(f + 1, '\n', flen - 1);
        if (!nl) {
            *err = "unterminated footer";
            goto fail;
        }
        char rule[128];
        size_t rlen = (size_t)(nl - f - 1);
        if (rlen >= sizeof rule) {
            *err = "footer too long";
            goto fail;
        }
        memcpy(rule, f + 1, rlen);
        rule[rlen] = '\0';
        struct tz_posix tp;
        if (rlen) {
            if (posix_parse(rule, &tp) != 0) {
                *err = "unsupported POSIX TZ footer";
                goto fail;
            }
            if (tz_expand_footer(z, &tp) != 0) {
                *err = "footer rule contradicts the transitions";
                goto fail;
            }
        }
    }
    *err = NULL;
    return z;
fail:
    tz_destroy(&z);
    return NULL;
}

static bool tz_name_ok(const char *name)
{
    if (!name || !name[0] || name[0] == '/' || strlen(name) > 128 || strstr(name, ".."))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return false;
    return true;
}

tz *tz_load(const char *name, const char **err)
{
    if (!tz_name_ok(name)) {
        *err = "not a time-zone name";
        return NULL;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/%s", TZ_DIR, name);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *err = errno == ENOENT ? "no such zone in " TZ_DIR " (is tzdata installed?)"
                               : "could not open the zone file";
        return NULL;
    }
    uint8_t *data = malloc(TZ_MAX_FILE);
    size_t len = data ? fread(data, 1, TZ_MAX_FILE, fp) : 0;
    bool too_big = data && len == TZ_MAX_FILE;
    fclose(fp);
    tz *z = NULL;
    if (!data)
        *err = "out of memory";
    else if (too_big)
        *err = "zone file too large";
    else
        z = tz_parse(name, data, len, err);
    free(data);
    return z;
}

/* --- lookups ------------------------------------------------------------------ */

/* Index of the first transition strictly after t (n when none). */
static size_t tz_next(const tz *z, int64_t t)
{
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int32_t tz_offset(const tz *z, int64_t t)
{
    size_t i = tz_next(z, t);
    return i == 0 ? z->off0 : z->off[i - 1];
}

int64_t tz_local_to_utc(const tz *z, int64_t local)
{
    /* PostgreSQL's DetermineTimeZoneOffset: look at the first transition
     * after a day before the wall time (offsets are under a day, and
     * transitions more than two days apart). */
    int64_t prev = local - SECS_PER_DAY;
    size_t i = tz_next(z, prev);
    int32_t before = i == 0 ? z->off0 : z->off[i - 1];
    if (i == z->n)
        return local - before;
    int64_t boundary = z->at[i];
    int64_t beforetime = local - before, aftertime = local - z->off[i];
    if (beforetime < boundary && aftertime < boundary)
        return beforetime;
    if (beforetime > boundary && aftertime >= boundary)
        return aftertime;
    /* A gap (spring forward) takes the earlier offset, an overlap the later. */
    return beforetime > aftertime ? beforetime : aftertime;
}

int64_t tz_local_day(const tz *z, int64_t t_us)
{
    int64_t t = civil_floor_div(t_us, US);
    return civil_floor_div(t + tz_offset(z, t), SECS_PER_DAY);
}

int64_t tz_day_start_us(const tz *z, int64_t day)
{
    int64_t u = tz_local_to_utc(z, day * SECS_PER_DAY);
    /* When midnight happens twice (a fall-back at 01:00 to 00:00), the
     * PostgreSQL rule picked the second one: the day began at the first,
     * under the offset in effect just before u. */
    int64_t first = day * SECS_PER_DAY - tz_offset(z, u - 1);
    if (first < u && civil_floor_div(first + tz_offset(z, first), SECS_PER_DAY) == day)
        return first * US;
    return u * US;
}
