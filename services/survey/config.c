/* config.c — the survey service's settings (CAREBUS_SURVEY_*).
 *
 * A value that is set but wrong stops the service with a message naming the
 * variable (config.h's rule). The link base defaults to the service's own
 * address, http://127.0.0.1:<port> (8083 by default), so that a local run
 * and the tests get working links without setting anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "survey.h"

/* CAREBUS_SURVEY_SECRET shorter than this is refused: a guessable secret
 * would let anyone forge links. */
#define SURVEY_SECRET_MIN 16

/* Splits the scheme://host[:port] origin off an http(s) URL; -1 if it is
 * not one. */
static int url_origin(const char *url, char **origin, bool *https)
{
    size_t skip;
    if (strncasecmp(url, "http://", 7) == 0) {
        skip = 7;
        *https = false;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        skip = 8;
        *https = true;
    } else {
        return -1;
    }
    size_t host = strcspn(url + skip, "/?#");
    if (host == 0)
        return -1;
    *origin = strndup(url, skip + host);
    return *origin ? 0 : -1;
}

int survey_config_load(struct survey_config *c, int port)
{
    *c = (struct survey_config){0};
    const char *trigger = config_str("SURVEY_TRIGGER", "solved");
    if (strcmp(trigger, "solved") == 0) {
        c->trigger_closed = false;
    } else if (strcmp(trigger, "closed") == 0) {
        c->trigger_closed = true;
    } else {
        log_error("CAREBUS_SURVEY_TRIGGER: expected \"solved\" or \"closed\", got \"%s\"", trigger);
        return -1;
    }
    if (config_long_logged("SURVEY_DELAY_S", 0, 0, 30L * 86400, &c->delay_s) != 0 ||
        config_long_logged("SURVEY_COOLDOWN_DAYS", 0, 0, 3650, &c->cooldown_days) != 0 ||
        config_long_logged("SURVEY_TTL_S", 7L * 86400, 1, 365L * 86400, &c->ttl_s) != 0)
        goto fail;

    char def_url[64];
    snprintf(def_url, sizeof def_url, "http://127.0.0.1:%d", port);
    const char *url = config_str("SURVEY_URL", def_url);
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (!(c->base_url = strndup(url, n)) ||
        url_origin(c->base_url, &c->origin, &c->secure_cookie) != 0) {
        log_error("CAREBUS_SURVEY_URL: expected an http(s) URL, got \"%s\"", url);
        goto fail;
    }

    const char *secret = config_str("SURVEY_SECRET", NULL);
    if (secret && strlen(secret) < SURVEY_SECRET_MIN) {
        log_error("CAREBUS_SURVEY_SECRET: expected at least %d characters", SURVEY_SECRET_MIN);
        goto fail;
    }
    if (secret && !(c->secret = strdup(secret)))
        goto fail;
    return 0;
fail:
    survey_config_release(c);
    return -1;
}

void survey_config_release(struct survey_config *c)
{
    free(c->base_url);
    free(c->origin);
    free(c->secret);
    *c = (struct survey_config){0};
}
