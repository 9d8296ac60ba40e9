/* testjson.h — JSON documents written in the unit tests' source.
 *
 * A test's own document that does not parse is the test's mistake, not the
 * code's: it fails the test at once, saying where, rather than hand the
 * code under test a NULL.
 */
#ifndef CAREBUS_TESTJSON_H
#define CAREBUS_TESTJSON_H

#include <jansson.h>

/* text parsed with jansson's flags (JSON_DECODE_ANY, JSON_REJECT_DUPLICATES
 * ...): the caller owns the result; text that does not parse fails the
 * running test. */
json_t *testjson_load(const char *text, size_t flags);

#endif
