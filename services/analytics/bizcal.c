/* bizcal.c — local days and business time (see bizcal.h).
 *
 * What is subtle: a local day is not 86,400 s long in a zone with daylight
 * saving, so day boundaries and opening hours are always converted through
 * mktime() (tm_isdst = -1: the zone decides), never by adding seconds. The
 * conversions are cached per day in a small open-addressing table, because
 * a rebuild asks for the same few hundred days millions of times.
 */
#include "bizcal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

struct span {
    int from_min, to_min; /* minutes since local midnight, from < to <= 1440 */
};

struct day_entry {
    int32_t day;
    bool used;
    int64_t start_ms;                  /* local midnight, UTC */
    int nspans;                        /* opening spans of this day */
    int64_t open_ms[BIZCAL_MAX_SPANS]; /* UTC bounds of each span */
    int64_t close_ms[BIZCAL_MAX_SPANS];
    int64_t total_ms;
};

struct bizcal {
    char *tz;
    struct span week[7][BIZCAL_MAX_SPANS]; /* tm_wday: 0 = Sunday */
    int nweek[7];
    int32_t holidays[BIZCAL_MAX_HOLIDAYS]; /* sorted */
    size_t nholidays;
    char *fingerprint;
    /* cache */
    struct day_entry *days;
    size_t cap, used;
    int32_t last_day; /* bizcal_day's one-entry cache */
    int64_t last_from, last_to;
};

/* --- civil dates (Howard Hinnant's algorithms) ------------------------------ */

static int64_t floor_div64(int64_t a, int64_t d)
{
    int64_t q = a / d;
    return (a % d != 0 && ((a < 0) != (d < 0))) ? q - 1 : q;
}

static int32_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div64(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div64(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void bizcal_day_format(int32_t day, char *out)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

int bizcal_day_parse(const char *s, int32_t *day)
{
    int y, m, d, n = 0;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
        s[4] != '-' || s[7] != '-' || y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int32_t z = days_from_civil(y, m, d);
    int y2, m2, d2;
    civil_from_days(z, &y2, &m2, &d2);
    if (y2 != y || m2 != m || d2 != d) /* 2026-02-30 */
        return -1;
    *day = z;
    return 0;
}

/* --- parsing the configuration ---------------------------------------------- */

static int weekday_parse(const char *s, size_t n)
{
    static const char *const names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncmp(s, names[i], 3) == 0)
            return i;
    return -1;
}

static int hhmm_parse(const char *s, int *min)
{
    int h, m;
    if (strlen(s) < 5 || s[2] != ':' || sscanf(s, "%2d:%2d", &h, &m) != 2 || h < 0 || h > 24 ||
        m < 0 || m > 59 || (h == 24 && m != 0))
        return -1;
    *min = h * 60 + m;
    return 0;
}

/* One group: "mon-fri 08:00-12:00,13:00-17:00". */
static int hours_group(bizcal *c, char *g, const char **err)
{
    while (*g == ' ')
        g++;
    char *sp = strchr(g, ' ');
    if (!sp) {
        *err = "could not parse CAREBUS_ANALYTICS_HOURS: expected \"mon-fri 08:00-17:00\"";
        return -1;
    }
    *sp = '\0';
    char *dash = strchr(g, '-');
    int d1 = weekday_parse(g, dash ? (size_t)(dash - g) : strlen(g));
    int d2 = dash ? weekday_parse(dash + 1, strlen(dash + 1)) : d1;
    if (d1 < 0 || d2 < 0) {
        *err = "could not parse CAREBUS_ANALYTICS_HOURS: unknown weekday (mon, tue, ... sun)";
        return -1;
    }
    struct span spans[BIZCAL_MAX_SPANS];
    int n = 0;
    for (char *save = NULL, *iv = strtok_r(sp + 1, ",", &save); iv;
         iv = strtok_r(NULL, ",", &save)) {
        while (*iv == ' ')
            iv++;
        int a, b;
        if (n == BIZCAL_MAX_SPANS || strlen(iv) < 11 || iv[5] != '-' || hhmm_parse(iv, &a) != 0 ||
            hhmm_parse(iv + 6, &b) != 0 || a >= b || (n > 0 && a < spans[n - 1].to_min)) {
            *err = "could not parse CAREBUS_ANALYTICS_HOURS: expected up to 4 ordered "
                   "intervals \"HH:MM-HH:MM\" per group";
            return -1;
        }
        spans[n++] = (struct span){a, b};
    }
    if (n == 0) {
        *err = "could not parse CAREBUS_ANALYTICS_HOURS: a group has no interval";
        return -1;
    }
    /* mon-fri, or a range across the week's end: fri-mon. */
    for (int d = d1;; d = (d + 1) % 7) {
        memcpy(c->week[d], spans, sizeof spans);
        c->nweek[d] = n;
        if (d == d2)
            break;
    }
    return 0;
}

static int hours_parse(bizcal *c, const char *hours, const char **err)
{
    if (strcmp(hours, "24/7") == 0) {
        for (int d = 0; d < 7; d++) {
            c->week[d][0] = (struct span){0, 1440};
            c->nweek[d] = 1;
        }
        return 0;
    }
    char *copy = strdup(hours);
    if (!copy) {
        *err = "out of memory";
        return -1;
    }
    int rc = 0;
    for (char *save = NULL, *g = strtok_r(copy, ";", &save); g && rc == 0;
         g = strtok_r(NULL, ";", &save)) {
        /* strtok_r inside hours_group works on its own pointer. */
        char *group = strdup(g);
        rc = group ? hours_group(c, group, err) : -1;
        free(group);
    }
    free(copy);
    return rc;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int holidays_parse(bizcal *c, const char *s, const char **err)
{
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        char date[11];
        size_t n = strcspn(p, ", ");
        if (n != 10 || c->nholidays == BIZCAL_MAX_HOLIDAYS) {
            *err = "could not parse CAREBUS_ANALYTICS_HOLIDAYS: expected comma-separated "
                   "YYYY-MM-DD dates (at most 512)";
            return -1;
        }
        memcpy(date, p, 10);
        date[10] = '\0';
        if (bizcal_day_parse(date, &c->holidays[c->nholidays]) != 0) {
            *err = "could not parse CAREBUS_ANALYTICS_HOLIDAYS: not a date";
            return -1;
        }
        c->nholidays++;
        p += n;
    }
    qsort(c->holidays, c->nholidays, sizeof c->holidays[0], cmp_i32);
    return 0;
}

static char *fingerprint_make(const bizcal *c)
{
    buf b = BUF_INIT;
    buf_printf(&b, "v1 tz=%s hours=", c->tz);
    for (int d = 0; d < 7; d++) {
        buf_printf(&b, "%d:", d);
        for (int i = 0; i < c->nweek[d]; i++)
            buf_printf(&b, "%d-%d,", c->week[d][i].from_min, c->week[d][i].to_min);
        buf_putc(&b, ';');
    }
    buf_puts(&b, " holidays=");
    for (size_t i = 0; i < c->nholidays; i++) {
        char day[11];
        bizcal_day_format(c->holidays[i], day);
        buf_printf(&b, "%s,", day);
    }
    return buf_detach(&b, NULL);
}

bizcal *bizcal_new(const char *tz, const char *hours, const char *holidays, const char **err)
{
    bizcal *c = calloc(1, sizeof *c);
    if (!c || !(c->tz = strdup(tz))) {
        *err = "out of memory";
        free(c);
        return NULL;
    }
    char zonefile[512];
    snprintf(zonefile, sizeof zonefile, "/usr/share/zoneinfo/%s", tz);
    FILE *f = tz[0] && !strstr(tz, "..") ? fopen(zonefile, "rb") : NULL;
    if (!f) {
        /* glibc silently falls back to UTC for an unknown zone. */
        *err = "CAREBUS_ANALYTICS_TZ names no zone of the time-zone database";
        goto fail;
    }
    fclose(f);
    if (hours_parse(c, hours, err) != 0 || holidays_parse(c, holidays ? holidays : "", err) != 0)
        goto fail;
    if (setenv("TZ", tz, 1) != 0) {
        *err = "could not set TZ";
        goto fail;
    }
    tzset();
    c->last_from = 1; /* empty one-entry cache */
    c->last_to = 0;
    if (!(c->fingerprint = fingerprint_make(c))) {
        *err = "out of memory";
        goto fail;
    }
    return c;
fail:
    bizcal_destroy(&c);
    return NULL;
}

void bizcal_destroy(bizcal **pc)
{
    bizcal *c = *pc;
    if (!c)
        return;
    free(c->tz);
    free(c->fingerprint);
    free(c->days);
    free(c);
    *pc = NULL;
}

const char *bizcal_fingerprint(const bizcal *c)
{
    return c->fingerprint;
}

const char *bizcal_tz(const bizcal *c)
{
    return c->tz;
}

/* --- the per-day cache ------------------------------------------------------- */

static int64_t local_ms(int32_t day, int minute)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d + minute / 1440; /* 24:00 is the next midnight */
    tm.tm_hour = (minute % 1440) / 60;
    tm.tm_min = minute % 60;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

static bool is_holiday(const bizcal *c, int32_t day)
{
    return bsearch(&day, c->holidays, c->nholidays, sizeof day, cmp_i32) != NULL;
}

static void day_fill(bizcal *c, struct day_entry *e, int32_t day)
{
    e->day = day;
    e->used = true;
    e->start_ms = local_ms(day, 0);
    e->nspans = 0;
    e->total_ms = 0;
    if (is_holiday(c, day))
        return;
    int wday = (int)(((int64_t)day % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    for (int i = 0; i < c->nweek[wday]; i++) {
        int64_t a = local_ms(day, c->week[wday][i].from_min);
        int64_t b = local_ms(day, c->week[wday][i].to_min);
        if (b <= a) /* a span swallowed by a DST jump */
            continue;
        e->open_ms[e->nspans] = a;
        e->close_ms[e->nspans] = b;
        e->nspans++;
        e->total_ms += b - a;
    }
}

static size_t slot_of(int32_t day, size_t cap)
{
    return ((uint32_t)day * 2654435761u) & (cap - 1);
}

static const struct day_entry *day_get(bizcal *c, int32_t day)
{
    if (c->cap == 0 || (c->used + 1) * 2 > c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 1024;
        struct day_entry *n = calloc(ncap, sizeof *n);
        if (!n)
            abort(); /* a few kB: out of memory here is not recoverable */
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->days[i].used)
                continue;
            size_t s = slot_of(c->days[i].day, ncap);
            while (n[s].used)
                s = (s + 1) & (ncap - 1);
            n[s] = c->days[i];
        }
        free(c->days);
        c->days = n;
        c->cap = ncap;
    }
    size_t s = slot_of(day, c->cap);
    while (c->days[s].used && c->days[s].day != day)
        s = (s + 1) & (c->cap - 1);
    if (!c->days[s].used) {
        day_fill(c, &c->days[s], day);
        c->used++;
    }
    return &c->days[s];
}

int64_t bizcal_day_start(bizcal *c, int32_t day)
{
    return day_get(c, day)->start_ms;
}

int32_t bizcal_day(bizcal *c, int64_t at_ms)
{
    if (at_ms >= c->last_from && at_ms < c->last_to)
        return c->last_day;
    time_t t = (time_t)floor_div64(at_ms, 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    int32_t day = days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    int64_t from = bizcal_day_start(c, day), to = bizcal_day_start(c, day + 1);
    /* A zone whose midnight does not exist starts the day a little later;
     * the cache only covers what is certain. */
    if (at_ms >= from && at_ms < to) {
        c->last_day = day;
        c->last_from = from;
        c->last_to = to;
    }
    return day;
}

/* Business ms of one day within [from, to). */
static int64_t day_overlap(const struct day_entry *e, int64_t from, int64_t to)
{
    int64_t sum = 0;
    for (int i = 0; i < e->nspans; i++) {
        int64_t a = e->open_ms[i] > from ? e->open_ms[i] : from;
        int64_t b = e->close_ms[i] < to ? e->close_ms[i] : to;
        if (b > a)
            sum += b - a;
    }
    return sum;
}

int64_t bizcal_business_ms(bizcal *c, int64_t from_ms, int64_t to_ms)
{
    if (to_ms <= from_ms)
        return 0;
    int32_t d1 = bizcal_day(c, from_ms), d2 = bizcal_day(c, to_ms);
    if (d1 == d2)
        return day_overlap(day_get(c, d1), from_ms, to_ms);
    int64_t sum = day_overlap(day_get(c, d1), from_ms, to_ms);
    for (int32_t d = d1 + 1; d < d2; d++)
        sum += day_get(c, d)->total_ms;
    return sum + day_overlap(day_get(c, d2), from_ms, to_ms);
}
