/* metrics.c — the process's metric registry and its Prometheus rendering.
 *
 * A fixed table of series (name with labels → double) indexed by a hash
 * map (hmap.h), all under one mutex: the hot path (metrics_add per request)
 * is a hash and a compare. Nothing is ever removed, so indices are stable.
 * A full table drops new series and counts them in
 * carebus_metrics_dropped_total, which owns slot 0 and so always exists.
 *
 * Families (the name up to '{', or the base of a described summary or
 * histogram for "_sum"/"_count"/"_bucket") are resolved when rendering, so
 * metrics_describe may come before or after the first sample.
 */
#include "metrics.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hmap.h"

#define METRICS_MAX_SERIES 512
#define METRICS_NAME_MAX 256
#define METRICS_MAX_FAMILIES 128
#define METRICS_FAMILY_MAX 128
#define METRICS_HELP_MAX 256

#define DROPPED "carebus_metrics_dropped_total"

struct series {
    char name[METRICS_NAME_MAX];
    double value;
};

struct family {
    char name[METRICS_FAMILY_MAX];
    char type[16];
    char help[METRICS_HELP_MAX];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series series[METRICS_MAX_SERIES];
static size_t nseries;
static hmap series_index = HMAP_INIT; /* name -> index into series */
static struct family families[METRICS_MAX_FAMILIES];
static size_t nfamilies;

static struct family *family_find(const char *name, size_t len)
{
    for (size_t i = 0; i < nfamilies; i++)
        if (strlen(families[i].name) == len && memcmp(families[i].name, name, len) == 0)
            return &families[i];
    return NULL;
}

/* Finds a series, creating it when create is set. NULL when absent (or the
 * table is full or the name unusable: then it counts as dropped). Locked. */
static struct series *series_lookup(const char *name, bool create)
{
    size_t len = strlen(name);
    int i = hmap_get(&series_index, name, len);
    if (i != HMAP_ABSENT)
        return &series[i];
    /* No room in the index yet: metrics_init_locked could not make it. */
    if (!create || series_index.cap == 0)
        return NULL;
    /* A newline would break the exposition format; a long name would be
     * cut and merge with another series. Both are our bugs, but a metric
     * must never take a service down. */
    if (nseries == METRICS_MAX_SERIES || len == 0 || len >= METRICS_NAME_MAX ||
        strchr(name, '\n')) {
        if (nseries > 0)
            series[0].value += 1;
        return NULL;
    }
    memcpy(series[nseries].name, name, len + 1);
    series[nseries].value = 0;
    int rc = hmap_put(&series_index, series[nseries].name, len, (int)nseries);
    assert(rc == 0); /* the index has room for the whole table */
    (void)rc;
    return &series[nseries++];
}

/* Slot 0 is the dropped counter: create it before anything else. Locked. */
static void metrics_init_locked(void)
{
    if (nseries > 0)
        return;
    /* Room for the whole table at once: adding a series never allocates.
     * XXX: out of memory here, nothing is recorded (the next call tries
     * again): a metric must never take a service down. */
    if (hmap_reserve(&series_index, METRICS_MAX_SERIES) != 0)
        return;
    struct series *d = series_lookup(DROPPED, true);
    assert(d == &series[0]);
    (void)d;
    static const char help[] = "Series not recorded because the metrics table was full";
    strcpy(families[0].name, DROPPED);
    strcpy(families[0].type, "counter");
    strcpy(families[0].help, help);
    nfamilies = 1;
}

void metrics_describe(const char *family, const char *type, const char *help)
{
    size_t len = strlen(family);
    if (len == 0 || len >= METRICS_FAMILY_MAX)
        return;
    pthread_mutex_lock(&lock);
    metrics_init_locked();
    struct family *f = family_find(family, len);
    if (!f && nfamilies < METRICS_MAX_FAMILIES)
        f = &families[nfamilies++];
    if (f) {
        memcpy(f->name, family, len + 1);
        snprintf(f->type, sizeof f->type, "%s", type ? type : "untyped");
        snprintf(f->help, sizeof f->help, "%s", help ? help : "");
    }
    pthread_mutex_unlock(&lock);
}

void metrics_add(const char *name, double v)
{
    pthread_mutex_lock(&lock);
    metrics_init_locked();
    struct series *s = series_lookup(name, true);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&lock);
}

void metrics_set(const char *name, double v)
{
    pthread_mutex_lock(&lock);
    metrics_init_locked();
    struct series *s = series_lookup(name, true);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&lock);
}

double metrics_get(const char *name)
{
    pthread_mutex_lock(&lock);
    metrics_init_locked();
    struct series *s = series_lookup(name, false);
    double v = s ? s->value : 0;
    pthread_mutex_unlock(&lock);
    return v;
}

/* The family a series belongs to: its name up to '{', or for "x_sum",
 * "x_count" and "x_bucket" the family "x" when x is a described summary or
 * histogram. Sets *len to the family name's length. Locked. */
static const char *series_family(const char *name, size_t *len)
{
    static const char *const suffixes[] = {"_sum", "_count", "_bucket"};
    size_t n = strcspn(name, "{");
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n <= sl || memcmp(name + n - sl, suffixes[i], sl) != 0)
            continue;
        const struct family *f = family_find(name, n - sl);
        if (f && (strcmp(f->type, "summary") == 0 || strcmp(f->type, "histogram") == 0)) {
            *len = n - sl;
            return name;
        }
    }
    *len = n;
    return name;
}

static void render_help(buf *b, const char *help)
{
    /* The format escapes backslash and newline in HELP text. */
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            buf_puts(b, "\\\\");
        else if (*p == '\n')
            buf_puts(b, "\\n");
        else
            buf_putc(b, *p);
    }
}

static void render_value(buf *b, double v)
{
    if (isnan(v))
        buf_puts(b, "NaN");
    else if (isinf(v))
        buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact */
        buf_printf(b, "%lld", (long long)v);
    else
        buf_printf(b, "%.17g", v);
}

char *metrics_render(size_t *len)
{
    buf b = BUF_INIT;
    pthread_mutex_lock(&lock);
    metrics_init_locked();
    size_t famlen[METRICS_MAX_SERIES];
    bool done[METRICS_MAX_SERIES] = {false};
    for (size_t i = 0; i < nseries; i++)
        series_family(series[i].name, &famlen[i]);
    /* Families in the order of their first series; each family's header
     * once, followed by all its series. */
    for (size_t i = 0; i < nseries; i++) {
        if (done[i])
            continue;
        const char *fam = series[i].name;
        size_t fl = famlen[i];
        const struct family *f = family_find(fam, fl);
        if (f && f->help[0]) {
            buf_printf(&b, "# HELP %.*s ", (int)fl, fam);
            render_help(&b, f->help);
            buf_putc(&b, '\n');
        }
        if (f)
            buf_printf(&b, "# TYPE %.*s %s\n", (int)fl, fam, f->type);
        for (size_t k = i; k < nseries; k++) {
            if (done[k] || famlen[k] != fl || memcmp(series[k].name, fam, fl) != 0)
                continue;
            done[k] = true;
            buf_puts(&b, series[k].name);
            buf_putc(&b, ' ');
            render_value(&b, series[k].value);
            buf_putc(&b, '\n');
        }
    }
    pthread_mutex_unlock(&lock);
    return buf_detach(&b, len);
}
