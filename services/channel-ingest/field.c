/* field.c — typed JSON members with errors that name the field.
 *
 * jansson has already refused invalid UTF-8 and NUL bytes in strings
 * (json_loadb without JSON_ALLOW_NUL), so a JSON string here is a C string
 * of valid UTF-8; what is left to check is type, range, length and, for
 * identifiers, control characters (a tab in an agent id would break a log
 * line or a CSV export far from here).
 */
#include "field.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"
#include "utf8.h"

int field_fail(struct message_error *err, const char *code, const char *field, const char *fmt, ...)
{
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int field_object(const json_t *root, struct message_error *err)
{
    if (!json_is_object(root))
        return field_fail(err, "invalid_json", "", "the body must be a JSON object");
    return 0;
}

int field_only(const json_t *root, const char *const *known, size_t n, struct message_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(key, known[i]) != 0)
            i++;
        if (i == n)
            return field_fail(err, "unknown_field", key, "\"%.64s\" is not a member this accepts",
                              key);
    }
    return 0;
}

/* The member, or NULL when absent or null; a missing required member fails. */
static json_t *member(const json_t *obj, const char *key, const char *field, unsigned flags,
                      struct message_error *err, int *rc)
{
    json_t *v = json_object_get(obj, key);
    *rc = 0;
    if (v && !json_is_null(v))
        return v;
    if (flags & FIELD_REQUIRED)
        *rc = field_fail(err, "missing_field", field, "\"%s\" is required", field);
    return NULL;
}

static bool has_control(const char *s, size_t n, bool text)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(text && (c == '\t' || c == '\n' || c == '\r'))) || c == 0x7f)
            return true;
    }
    return false;
}

static bool blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

int field_string(const json_t *obj, const char *key, const char *field, unsigned flags, size_t max,
                 char **out, struct message_error *err)
{
    int rc;
    json_t *v = member(obj, key, field, flags, err, &rc);
    if (!v)
        return rc;
    if (!json_is_string(v))
        return field_fail(err, "invalid_field", field, "\"%s\" must be a string", field);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (max && n > max)
        return field_fail(err, "invalid_field", field, "\"%s\" is too long (at most %zu bytes)",
                          field, max);
    if ((flags & FIELD_REQUIRED) && blank(s))
        return field_fail(err, "invalid_field", field, "\"%s\" must not be empty", field);
    if (has_control(s, n, flags & FIELD_TEXT))
        return field_fail(err, "invalid_field", field, "\"%s\" must not hold control characters",
                          field);
    *out = (char *)s;
    return 0;
}

int field_check(const char *s, const char *field, unsigned flags, size_t max,
                struct message_error *err)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    if (n == 0 && (flags & FIELD_REQUIRED))
        return field_fail(err, "missing_field", field, "\"%s\" is required", field);
    if (max && n > max)
        return field_fail(err, "invalid_field", field, "\"%s\" is too long (at most %zu bytes)",
                          field, max);
    if ((flags & FIELD_REQUIRED) && blank(s))
        return field_fail(err, "invalid_field", field, "\"%s\" must not be empty", field);
    if (!utf8_valid(s, n))
        return field_fail(err, "invalid_field", field, "\"%s\" is not valid UTF-8", field);
    if (has_control(s, n, flags & FIELD_TEXT))
        return field_fail(err, "invalid_field", field, "\"%s\" must not hold control characters",
                          field);
    return 0;
}

int field_enum(const json_t *obj, const char *key, const char *field, unsigned flags,
               const ProtobufCEnumDescriptor *d, int *out, bool *present, struct message_error *err)
{
    int rc;
    if (present)
        *present = false;
    json_t *v = member(obj, key, field, flags, err, &rc);
    if (!v)
        return rc;
    if (!json_is_string(v) || vocab_parse(d, json_string_value(v), out) != 0)
        return field_fail(err, "invalid_field", field, "\"%s\" must be one of %s", field,
                          vocab_list(d));
    if (present)
        *present = true;
    return 0;
}

int field_time(const json_t *obj, const char *key, const char *field, unsigned flags,
               int64_t *out_us, bool *present, struct message_error *err)
{
    int rc;
    if (present)
        *present = false;
    json_t *v = member(obj, key, field, flags, err, &rc);
    if (!v)
        return rc;
    if (!json_is_string(v))
        return field_fail(err, "invalid_field", field, "\"%s\" must be a string: an RFC 3339 time",
                          field);
    const char *s = json_string_value(v);
    if (json_string_length(v) > 64 || time_parse_rfc3339(s, out_us) != 0)
        return field_fail(err, "invalid_field", field,
                          "could not parse \"%s\": expected RFC 3339, got \"%.64s\"", field, s);
    if (present)
        *present = true;
    return 0;
}

int field_uint(const json_t *obj, const char *key, const char *field, unsigned flags, uint64_t max,
               uint64_t *out, bool *present, struct message_error *err)
{
    int rc;
    if (present)
        *present = false;
    json_t *v = member(obj, key, field, flags, err, &rc);
    if (!v)
        return rc;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return field_fail(err, "invalid_field", field, "\"%s\" must be an integer from 0 to %llu",
                          field, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    if (present)
        *present = true;
    return 0;
}

int field_bool(const json_t *obj, const char *key, const char *field, unsigned flags, bool *out,
               struct message_error *err)
{
    int rc;
    json_t *v = member(obj, key, field, flags, err, &rc);
    if (!v)
        return rc;
    if (!json_is_boolean(v))
        return field_fail(err, "invalid_field", field, "\"%s\" must be true or false", field);
    *out = json_is_true(v);
    return 0;
}

int field_strings(const json_t *obj, const char *key, const char *field, unsigned flags,
                  size_t max_items, size_t max_len, char **out, size_t *n,
                  struct message_error *err)
{
    int rc;
    *n = 0;
    json_t *v = member(obj, key, field, flags, err, &rc);
    if (!v)
        return rc;
    if (!json_is_array(v))
        return field_fail(err, "invalid_field", field, "\"%s\" must be an array of strings", field);
    if (json_array_size(v) > max_items)
        return field_fail(err, "invalid_field", field, "\"%s\" has more than %zu items", field,
                          max_items);
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        char name[64];
        snprintf(name, sizeof name, "%s[%zu]", field, i);
        if (!json_is_string(s))
            return field_fail(err, "invalid_field", name, "\"%s\" must be a string", name);
        const char *str = json_string_value(s);
        size_t len = json_string_length(s);
        if (len > max_len || blank(str) || has_control(str, len, false))
            return field_fail(err, "invalid_field", name,
                              "\"%s\" must be 1 to %zu bytes without control characters", name,
                              max_len);
        out[i] = (char *)str;
    }
    *n = json_array_size(v);
    return 0;
}

bool field_token_valid(const char *s, size_t max)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    return n > 0 && n <= max && !blank(s) && !has_control(s, n, false) && utf8_valid(s, n);
}
