/* log.h — logging to stderr: JSON lines for machines, text for people.
 *
 * One JSON object per line: {"ts","level","service","msg",...}. Extra fields
 * are given as a jansson object whose reference the call steals. Writes are a
 * single write(2) per line so lines from several processes never interleave.
 * When stderr is a terminal the same entry is one line of text instead,
 * "09:00:00.123 router         INFO  msg key=value", coloured;
 * CAREBUS_LOG_FORMAT=json|text|auto overrides the choice (auto: the default).
 */
#ifndef CAREBUS_LOG_H
#define CAREBUS_LOG_H

#include <jansson.h>
#include <stdbool.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
typedef enum { LOG_FORMAT_JSON = 0, LOG_FORMAT_TEXT } log_format;

/* Sets the service name, the minimum level (CAREBUS_LOG_LEVEL) and the
 * format (CAREBUS_LOG_FORMAT; auto: text, coloured unless NO_COLOR is set,
 * when stderr is a terminal, else JSON). Called before any thread starts. */
void log_init(const char *service);
void log_set_level(log_level level);
/* color: ANSI colours in text lines (ignored for JSON). */
void log_set_format(log_format format, bool color);
/* The ANSI colour code ("36") of a service's name in text lines (static). */
const char *log_service_color(const char *service);
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
