/* tool.h — what the load tools (router_load, outbound_load) share: their
 * "--name value" arguments and their pacing.
 *
 * Header only, for every .c file in tests/tools is a program of its own. An
 * argument given twice counts once, its first time; a value that is not a
 * number reads as strtol reads it.
 */
#ifndef CAREBUS_TESTS_TOOL_H
#define CAREBUS_TESTS_TOOL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

/* The value after argument `name` as a number; def without one. */
static inline long tool_arg_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 10);
    return def;
}

/* The value after argument `name` (argv's storage); NULL without one. */
static inline const char *tool_arg_str(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

/* Sleeps until t (time_now_us's clock); at once when t has passed. */
static inline void tool_sleep_until_us(int64_t t)
{
    int64_t now = time_now_us();
    if (t > now) {
        struct timespec ts = {(time_t)((t - now) / 1000000), (long)((t - now) % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

#endif
