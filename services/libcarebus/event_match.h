/* event_match.h — event type patterns: which events a reader wants.
 *
 * Webhook subscriptions (courier delivers, channel-ingest validates) and
 * the HTTP event feed name the events they want with patterns: an event
 * type ("ticket.opened") or a pattern where "*" stands for any run of
 * characters, dots included ("ticket.*", "*.failed", "*"). One matcher, so
 * that a subscription and the feed read the same pattern the same way. A
 * pattern is well-formed when it is 1 to EVENT_MATCH_MAX characters of
 * a-z, 0-9, "_", "." and "*" and matches at least one of the schema's event
 * types (vocab.h): a typo is refused rather than silently matching nothing.
 * Pure functions.
 */
#ifndef CAREBUS_EVENT_MATCH_H
#define CAREBUS_EVENT_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#define EVENT_MATCH_MAX 64

/* True when type matches pattern. Both non-NULL. */
bool event_match(const char *pattern, const char *type);

/* True when type matches any of the n patterns (n may be 0: false). */
bool event_match_any(const char *const *patterns, size_t n, const char *type);

/* 0 when pattern is well-formed; else -1 with *why (static text, to follow
 * the field's name in an error message: "must be ..." or "matches no event
 * type"). */
int event_match_check(const char *pattern, const char **why);

/* The schema's event types that match any of the n patterns, in schema
 * order, into out (static strings); returns how many (at most cap, which
 * vocab_event_type_count() always satisfies). */
size_t event_match_types(const char *const *patterns, size_t n, const char **out, size_t cap);

#endif
