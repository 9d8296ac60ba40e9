/* clock.c — the real clock (timerfd) and the file clock (inotify).
 *
 * The file clock watches the file's directory rather than the file, so that
 * an atomic replace (write a temporary file, rename it over) is seen too:
 * the watch on a file would follow the old inode away.
 */
#include "clock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"
#include "timeutil.h"

struct sla_clock {
    bool real;
    char *path;       /* file clock */
    const char *base; /* its name within dir */
    int64_t file_now;
    int tfd, ifd;
    loop *loop;
    sla_clock_fn fn;
    void *arg;
};

/* "2026-02-13T16:30:00+07:00" or "1771000000000000", whitespace around. */
static int clock_parse(const char *s, int64_t *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    char buf[64];
    size_t n = strcspn(s, " \t\r\n");
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (time_parse_rfc3339(buf, out) == 0)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || v <= 0)
        return -1;
    *out = v;
    return 0;
}

static int clock_read_file(const char *path, int64_t *out)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char buf[128];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return clock_parse(buf, out);
}

sla_clock *sla_clock_new(const char *spec, const char **err)
{
    sla_clock *c = calloc(1, sizeof *c);
    if (!c) {
        *err = "out of memory";
        return NULL;
    }
    c->tfd = c->ifd = -1;
    if (!spec || !spec[0] || strcmp(spec, "real") == 0) {
        c->real = true;
        return c;
    }
    if (strncmp(spec, "file:", 5) != 0 || !spec[5]) {
        *err = "expected \"real\" or \"file:<path>\"";
        goto fail;
    }
    if (!(c->path = strdup(spec + 5))) {
        *err = "out of memory";
        goto fail;
    }
    const char *slash = strrchr(c->path, '/');
    c->base = slash ? slash + 1 : c->path;
    if (!c->base[0]) {
        *err = "the clock file's path names a directory";
        goto fail;
    }
    if (clock_read_file(c->path, &c->file_now) != 0) {
        *err = "could not read a time (RFC 3339 or epoch microseconds) from the clock file";
        goto fail;
    }
    return c;
fail:
    sla_clock_destroy(&c);
    return NULL;
}

void sla_clock_destroy(sla_clock **pc)
{
    sla_clock *c = *pc;
    if (!c)
        return;
    if (c->loop && c->tfd >= 0)
        loop_remove_fd(c->loop, c->tfd);
    if (c->loop && c->ifd >= 0)
        loop_remove_fd(c->loop, c->ifd);
    if (c->tfd >= 0)
        close(c->tfd);
    if (c->ifd >= 0)
        close(c->ifd);
    free(c->path);
    free(c);
    *pc = NULL;
}

bool sla_clock_is_real(const sla_clock *c)
{
    return c->real;
}

int64_t sla_clock_now(const sla_clock *c)
{
    return c->real ? time_now_us() : c->file_now;
}

int sla_clock_reload(sla_clock *c)
{
    if (c->real)
        return 0;
    int64_t t;
    if (clock_read_file(c->path, &t) != 0)
        return -1;
    if (t == c->file_now)
        return 0;
    c->file_now = t;
    return 1;
}

static int clock_on_timer(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    sla_clock *c = arg;
    uint64_t expirations;
    if (read(c->tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        log_warn("sla clock: could not read the timerfd: %s", strerror(errno));
    c->fn(c->arg);
    return 0;
}

static int clock_on_inotify(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    sla_clock *c = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool ours = false;
    ssize_t n;
    while ((n = read(c->ifd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->len && strcmp(ev->name, c->base) == 0)
                ours = true;
            p += sizeof *ev + ev->len;
        }
    }
    if (!ours)
        return 0;
    int rc = sla_clock_reload(c);
    if (rc < 0) {
        /* A writer that truncates then writes is seen half way: the next
         * event brings the rest. */
        log_debug("sla clock: %s does not hold a time (yet)", c->path);
        return 0;
    }
    if (rc > 0) {
        char at[TIME_RFC3339_LEN];
        time_format_rfc3339(c->file_now, at);
        log_info("sla clock: the test clock moved to %s", at);
        c->fn(c->arg);
    }
    return 0;
}

int sla_clock_attach(sla_clock *c, loop *l, sla_clock_fn fn, void *arg)
{
    c->loop = l;
    c->fn = fn;
    c->arg = arg;
    c->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (c->tfd < 0 || loop_add_fd(l, c->tfd, ZMQ_POLLIN, clock_on_timer, c) != 0) {
        log_error("sla clock: could not create a timer: %s", strerror(errno));
        return -1;
    }
    if (c->real)
        return 0;
    char dir[PATH_MAX];
    size_t dlen = (size_t)(c->base - c->path);
    if (dlen == 0) {
        snprintf(dir, sizeof dir, ".");
    } else {
        snprintf(dir, sizeof dir, "%.*s", (int)(dlen > 1 ? dlen - 1 : 1), c->path);
    }
    c->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (c->ifd < 0 ||
        inotify_add_watch(c->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY | IN_CREATE) < 0 ||
        loop_add_fd(l, c->ifd, ZMQ_POLLIN, clock_on_inotify, c) != 0) {
        log_error("sla clock: could not watch %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

void sla_clock_arm(sla_clock *c, int64_t at, long retry_ms)
{
    if (c->tfd < 0)
        return;
    struct itimerspec its = {{0, 0}, {0, 0}};
    int flags = 0;
    int64_t now = sla_clock_now(c);
    if (at != INT64_MAX && at <= now) {
        its.it_value.tv_nsec = 1; /* at once (0 would disarm) */
    } else if (c->real && at != INT64_MAX) {
        int64_t when = at;
        if (retry_ms >= 0 && now + (int64_t)retry_ms * 1000 < when)
            when = now + (int64_t)retry_ms * 1000;
        flags = TFD_TIMER_ABSTIME;
        its.it_value.tv_sec = (time_t)(when / 1000000);
        its.it_value.tv_nsec = (long)(when % 1000000) * 1000;
    } else if (retry_ms >= 0) {
        its.it_value.tv_sec = retry_ms / 1000;
        its.it_value.tv_nsec = (retry_ms % 1000) * 1000000 + 1;
    }
    if (timerfd_settime(c->tfd, flags, &its, NULL) != 0)
        log_warn("sla clock: could not arm the timer: %s", strerror(errno));
}
