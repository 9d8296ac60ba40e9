/* config.c — courier's settings (CAREBUS_COURIER_*, CAREBUS_WEBHOOK_*) and
 * the static subscriptions (CAREBUS_OUTBOUND_WEBHOOK_URLS and _SECRET,
 * survey.requested's receivers from before courier).
 *
 * A value that is set but wrong stops the service with a message naming
 * the variable (config.h's rule). The lease must outlive an attempt, so it
 * defaults to the attempt's timeout plus a margin and may not be shorter.
 * survey's own delivery settings from before courier are not read: one
 * still set is named in a warning with the setting that replaced it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "courier.h"
#include "log.h"

#define LEASE_MARGIN_S 5

static int split_urls(struct courier_config *c, const char *list)
{
    char *copy = strdup(list);
    if (!copy)
        return -1;
    int rc = -1;
    for (char *save = NULL, *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        while (*u == ' ' || *u == '\t')
            u++;
        size_t n = strlen(u);
        while (n && (u[n - 1] == ' ' || u[n - 1] == '\t'))
            u[--n] = '\0';
        if (!n)
            continue;
        if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0) {
            log_error("CAREBUS_OUTBOUND_WEBHOOK_URLS: \"%s\" is not an http(s) URL", u);
            goto out;
        }
        char **n2 = realloc(c->static_urls, (c->nstatic + 1) * sizeof *n2);
        if (!n2)
            goto out;
        c->static_urls = n2;
        if (!(c->static_urls[c->nstatic] = strdup(u)))
            goto out;
        c->nstatic++;
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

static void warn_replaced(void)
{
    static const struct {
        const char *old, *now;
    } replaced[] = {
        {"OUTBOUND_RETRY_S", "CAREBUS_WEBHOOK_RETRY_S"},
        {"OUTBOUND_BACKOFF_MS", "CAREBUS_COURIER_BACKOFF_MS"},
        {"OUTBOUND_BACKOFF_MAX_S", "CAREBUS_COURIER_BACKOFF_MAX_S"},
        {"OUTBOUND_TIMEOUT_S", "CAREBUS_COURIER_TIMEOUT_S"},
    };
    for (size_t i = 0; i < sizeof replaced / sizeof replaced[0]; i++)
        if (config_str(replaced[i].old, NULL))
            log_warn("CAREBUS_%s is no longer read: set %s instead", replaced[i].old,
                     replaced[i].now);
}

int courier_config_load(struct courier_config *c)
{
    warn_replaced();
    *c = (struct courier_config){0};
    if (config_long_logged("COURIER_RETRY_S", 86400, 0, 30L * 86400, &c->retry_s) ||
        config_long_logged("WEBHOOK_RETRY_S", 86400, 0, 30L * 86400, &c->webhook_retry_s) ||
        config_long_logged("COURIER_BACKOFF_MS", 2000, 1, 3600L * 1000, &c->backoff_ms) ||
        config_long_logged("COURIER_BACKOFF_MAX_S", 3600, 1, 86400, &c->backoff_max_s) ||
        config_long_logged("COURIER_TIMEOUT_S", 10, 1, 300, &c->timeout_s) ||
        config_long_logged("COURIER_LEASE_S", c->timeout_s + LEASE_MARGIN_S, c->timeout_s + 1, 3600,
                           &c->lease_s) ||
        config_long_logged("COURIER_MAX_INFLIGHT", 512, 1, 100000, &c->max_inflight) ||
        config_long_logged("COURIER_CONNECTIONS", 64, 1, 10000, &c->host_connections) ||
        config_long_logged("WEBHOOK_PAUSE_AFTER_S", 86400, 1, 365L * 86400, &c->pause_after_s) ||
        config_long_logged("WEBHOOK_PAUSE_AFTER_FAILURES", 0, 0, 1000000, &c->pause_after_failures))
        goto fail;
    const char *ca = config_str("COURIER_CA_FILE", NULL);
    if (ca && !(c->ca_file = strdup(ca)))
        goto fail;
    if (split_urls(c, config_str("OUTBOUND_WEBHOOK_URLS", "")) != 0)
        goto fail;
    const char *ws = config_str("OUTBOUND_WEBHOOK_SECRET", NULL);
    if (ws && !(c->static_secret = strdup(ws)))
        goto fail;
    if (c->nstatic && !c->static_secret)
        log_warn("CAREBUS_OUTBOUND_WEBHOOK_SECRET is unset: deliveries to "
                 "CAREBUS_OUTBOUND_WEBHOOK_URLS go unsigned");
    return 0;
fail:
    courier_config_release(c);
    return -1;
}

void courier_config_release(struct courier_config *c)
{
    for (size_t i = 0; i < c->nstatic; i++)
        free(c->static_urls[i]);
    free(c->static_urls);
    free(c->static_secret);
    free(c->ca_file);
    *c = (struct courier_config){0};
}
