/* feed_cursor.h — where a reader of the event feed stands in every stream.
 *
 * One position per stream: the last seq the reader was given (or skipped,
 * not being of its types). Each stream's seqs are gap-free and follow
 * commit order (eventlog.h), so the next page starts right after each
 * position: nothing missed and nothing repeated, in whatever order events
 * of different streams committed, and a stream that appears later starts
 * from its first event. A position of 0 is the same as no position.
 *
 * On the wire the cursor is opaque: base64url, without padding, of the text
 * "v1" followed by ";<stream>=<seq>" for each stream, streams in byte
 * order, seq in decimal without leading zeros. Decoding is strict (one
 * spelling per cursor, nothing unknown): anything else is refused, and the
 * feed answers 400 naming "after". Pure functions.
 */
#ifndef FEED_CURSOR_H
#define FEED_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base64url.h"

#define FEED_STREAM_MAX 32 /* a stream name's bytes, the NUL included */
#define FEED_CURSOR_STREAMS 64
/* "v1", then per stream ";" name "=" and up to 19 digits (INT64_MAX). */
#define FEED_CURSOR_TEXT_MAX (2 + FEED_CURSOR_STREAMS * (1 + (FEED_STREAM_MAX - 1) + 1 + 19))
/* The encoded cursor's longest form, the NUL included. */
#define FEED_CURSOR_MAX (BASE64URL_LEN(FEED_CURSOR_TEXT_MAX) + 1)

struct feed_pos {
    char stream[FEED_STREAM_MAX];
    uint64_t seq; /* 1 .. INT64_MAX */
};

/* Positions sorted by stream name, each stream at most once. */
struct feed_cursor {
    size_t n;
    struct feed_pos pos[FEED_CURSOR_STREAMS];
};

/* Empty: the beginning of every stream. */
void feed_cursor_init(struct feed_cursor *c);

/* True when s can name a stream in a cursor: 1 to FEED_STREAM_MAX - 1
 * characters of A-Z, a-z, 0-9, "_", "." and "-". */
bool feed_cursor_stream_valid(const char *s);

/* Sets stream's position (0 removes it). 0, or -1 when the name is not
 * valid, seq is over INT64_MAX or the cursor is full (c unchanged). */
int feed_cursor_set(struct feed_cursor *c, const char *stream, uint64_t seq);

/* The position of stream (0 when the cursor has none). */
uint64_t feed_cursor_get(const struct feed_cursor *c, const char *stream);

/* Reads an encoded cursor (NUL-terminated). 0, or -1 when it is not one
 * this function's counterpart wrote (c is then empty). */
int feed_cursor_decode(const char *s, struct feed_cursor *c);

/* Writes the encoded cursor into out; returns its length. */
size_t feed_cursor_encode(const struct feed_cursor *c, char out[FEED_CURSOR_MAX]);

#endif
