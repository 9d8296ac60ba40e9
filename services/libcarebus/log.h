/* log.h — JSON-lines logging to stderr.
 *
 * One JSON object per line: {"ts","level","service","msg",...}. Extra fields
 * are given as a jansson object whose reference the call steals. Writes are a
 * single write(2) per line so lines from several processes never interleave.
 */
#ifndef CAREBUS_LOG_H
#define CAREBUS_LOG_H

#include <jansson.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Sets the service name and the minimum level (from CAREBUS_LOG_LEVEL). */
void log_init(const char *service);
void log_set_level(log_level level);
/* Parses "debug", "info", "warn", "error"; -1 if unknown. */
int log_level_parse(const char *s, log_level *out);

/* Logs msg (printf-style) with extra fields (may be NULL; reference stolen). */
void log_write(log_level level, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_write(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, NULL, __VA_ARGS__)

#endif
