/* imports.c — see imports.h. The bulk route reads its body a chunk of
 * records at a time: each good record is submitted to the group commit
 * with its content key, and the next chunk is read once the last commit
 * of this one came back, so memory stays bounded whatever the file's size
 * and the request is answered (its report) after the last commit. A
 * failed commit ends the import with 503: what was committed stays, and a
 * retry lands only the rest.
 */
#include "imports.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "buf.h"
#include "hex.h"
#include "identity.h"
#include "ingest.h"
#include "jsondepth.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "timeutil.h"
#include "write.h"

#define IMPORTS_CSV_TYPE "text/csv"
#define IMPORTS_NDJSON_TYPE "application/x-ndjson"
/* Records in flight at once (a group commit's batch). */
#define IMPORTS_CHUNK 1000
/* Errors listed in the report; the count goes on. */
#define IMPORTS_MAX_ERRORS 1000
#define IMPORTS_MAX_COLUMNS 128
#define ATTR_PREFIX "attributes."

/* The fields of a customer, and the CSV columns that carry them. */
static const char *const customer_fields[] = {"name",   "phone",  "email",   "channel",
                                              "handle", "crm_id", "segment", "status"};
#define NFIELDS (sizeof customer_fields / sizeof customer_fields[0])

/* --- one customer ------------------------------------------------------------------ */

static int parse_attributes(const json_t *root, struct customer_import *c,
                            struct message_error *err)
{
    const json_t *attrs = json_object_get(root, "attributes");
    if (!attrs || json_is_null(attrs))
        return 0;
    if (!json_is_object(attrs))
        return field_fail(err, "invalid_field", "attributes",
                          "\"attributes\" must be an object of strings");
    if (json_object_size(attrs) > IMPORTS_MAX_ATTRIBUTES)
        return field_fail(err, "invalid_field", "attributes",
                          "\"attributes\" has more than %d members", IMPORTS_MAX_ATTRIBUTES);
    const char *key;
    const json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)attrs, key, v)
    {
        char field[64];
        snprintf(field, sizeof field, "attributes.%s", key);
        if (!field_token_valid(key, OP_MAX_NAME))
            return field_fail(err, "invalid_field", field,
                              "attribute names must be 1 to %d bytes without control characters",
                              OP_MAX_NAME);
        if (!json_is_string(v))
            return field_fail(err, "invalid_field", field, "\"%s\" must be a string", field);
        if (json_string_length(v) > 1024)
            return field_fail(err, "invalid_field", field,
                              "\"%s\" is too long (at most 1024 bytes)", field);
        Carebus__V1__CustomerImported__AttributesEntry *e = &c->attrs[n];
        carebus__v1__customer_imported__attributes_entry__init(e);
        e->key = (char *)key;
        e->value = (char *)json_string_value(v);
        c->attr_ptrs[n++] = e;
    }
    c->body.n_attributes = n;
    c->body.attributes = n ? c->attr_ptrs : NULL;
    return 0;
}

/* The record's content key: SHA-256 of its canonical JSON (handles as the
 * router files them, members sorted). 0 or -1 (out of memory). */
static int content_key(const struct customer_import *c, const struct identity_set *ids,
                       char out[IMPORTS_KEY_LEN])
{
    const Carebus__V1__CustomerImported *b = &c->body;
    json_t *k = json_object(), *attrs = json_object();
    int rc = -1;
    char *text = NULL;
    if (!k || !attrs)
        goto out;
    if (c->ref.name[0])
        json_object_set_new(k, "name", json_string(c->ref.name));
    for (size_t i = 0; i < ids->n; i++)
        json_object_set_new(k, ids->items[i].kind, json_string(ids->items[i].value));
    if (b->crm_id[0])
        json_object_set_new(k, "crm_id", json_string(b->crm_id));
    if (b->segment)
        json_object_set_new(k, "segment", json_string(event_segment_name(b->segment)));
    if (b->status)
        json_object_set_new(k, "status", json_string(event_customer_status_name(b->status)));
    for (size_t i = 0; i < b->n_attributes; i++)
        json_object_set_new(attrs, b->attributes[i]->key, json_string(b->attributes[i]->value));
    json_object_set(k, "attributes", attrs);
    text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[32];
    unsigned int n = 0;
    if (text && EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL) == 1 && n == sizeof md) {
        hex_encode(md, sizeof md, out);
        rc = 0;
    }
out:
    free(text);
    json_decref(attrs);
    json_decref(k);
    return rc;
}

int imports_customer_parse(const json_t *root, int64_t now_us, struct customer_import *c,
                           struct message_error *err)
{
    memset(c, 0, sizeof *c);
    carebus__v1__envelope__init(&c->ev);
    google__protobuf__timestamp__init(&c->occurred);
    carebus__v1__customer_imported__init(&c->body);
    carebus__v1__customer_ref__init(&c->ref);
    if (!json_is_object(root))
        return field_fail(err, "invalid_json", "", "a customer must be a JSON object");
    Carebus__V1__CustomerImported *b = &c->body;
    int ch = 0, seg = 0, st = 0;
    if (field_string(root, "name", "name", FIELD_TEXT, 512, &c->ref.name, err) ||
        field_string(root, "phone", "phone", 0, 64, &c->ref.phone, err) ||
        field_string(root, "email", "email", 0, 320, &c->ref.email, err) ||
        field_enum(root, "channel", "channel", FIELD_OPTIONAL, &carebus__v1__channel__descriptor,
                   &ch, NULL, err) ||
        field_string(root, "handle", "handle", 0, 255, &c->ref.handle, err) ||
        field_string(root, "crm_id", "crm_id", 0, 255, &b->crm_id, err) ||
        field_enum(root, "segment", "segment", FIELD_OPTIONAL, &carebus__v1__segment__descriptor,
                   &seg, NULL, err) ||
        field_enum(root, "status", "status", FIELD_OPTIONAL,
                   &carebus__v1__customer_status__descriptor, &st, NULL, err) ||
        parse_attributes(root, c, err))
        return -1;
    b->channel = (Carebus__V1__Channel)ch;
    b->segment = (Carebus__V1__Segment)seg;
    b->status = (Carebus__V1__CustomerStatus)st;
    bool handle = c->ref.handle[0] != '\0';
    if (handle && !ch)
        return field_fail(err, "missing_field", "channel",
                          "\"channel\" is required with \"handle\"");
    if (ch && !handle)
        return field_fail(err, "missing_field", "handle",
                          "\"handle\" is required with \"channel\"");
    /* The handles as the router will file them: what does not normalise
     * is refused here rather than dropped there. */
    struct identity_set ids;
    identity_set_from_ref(&ids, b->channel, &c->ref, NULL);
    if (ids.rejected & IDENTITY_BAD_PHONE)
        return field_fail(err, "invalid_field", "phone",
                          "could not read \"phone\" as a phone number");
    if (ids.rejected & IDENTITY_BAD_EMAIL)
        return field_fail(err, "invalid_field", "email",
                          "could not read \"email\" as an email address");
    if (ids.rejected & IDENTITY_BAD_HANDLE)
        return field_fail(err, "invalid_field", "handle", "\"handle\" is not a valid %s handle",
                          event_channel_name(b->channel));
    if (ids.n == 0)
        return field_fail(err, "missing_field", "phone",
                          "a customer needs at least one of \"phone\", \"email\", or \"channel\""
                          " and \"handle\"");
    if (content_key(c, &ids, c->key) != 0)
        return field_fail(err, "unavailable", "", "out of memory");
    b->customer = &c->ref;
    event_ts_set(&c->occurred, now_us);
    c->ev.occurred_at = &c->occurred;
    c->ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_IMPORTED;
    c->ev.type = (char *)event_type_name(c->ev.body_case);
    c->ev.customer_imported = b;
    return 0;
}

/* --- reading a bulk body ---------------------------------------------------------- */

struct imports_reader {
    imports_format fmt;
    const char *p, *end;
    unsigned line; /* the physical line the next record starts on */
    size_t max_depth;
    char **cols; /* CSV: the header's names */
    size_t ncols;
    buf cell; /* CSV: the record's fields, NUL-separated */
};

static bool known_field(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(customer_fields[i], name) == 0)
            return true;
    return false;
}

/* One CSV record (RFC 4180: quoted fields with "" for a quote, which may
 * hold commas and line breaks) into r->cell, fields NUL-separated; *nf
 * gets their count, *lines the line breaks it spans. -1 with err when a
 * quote is not closed or is followed by something else (the rest of the
 * line is skipped). */
static int csv_record(imports_reader *r, size_t *nf, unsigned *lines, struct message_error *err)
{
    buf_reset(&r->cell);
    *nf = 0;
    *lines = 0;
    const char *p = r->p, *end = r->end;
    for (;;) {
        (*nf)++;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p == end) {
                    r->p = p;
                    return field_fail(err, "invalid_csv", "", "a quoted field is not closed");
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        buf_putc(&r->cell, '"');
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (*p == '\n')
                    (*lines)++;
                buf_putc(&r->cell, *p++);
            }
            if (p < end && *p != ',' && *p != '\n' &&
                !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
                const char *eol = memchr(p, '\n', (size_t)(end - p));
                r->p = eol ? eol + 1 : end;
                (*lines)++;
                return field_fail(err, "invalid_csv", "", "a closing quote must end its field");
            }
        } else {
            while (p < end && *p != ',' && *p != '\n' &&
                   !(*p == '\r' && p + 1 < end && p[1] == '\n'))
                buf_putc(&r->cell, *p++);
        }
        buf_putc(&r->cell, '\0');
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        /* The end of the record: a line break, or of the body. */
        if (p < end && *p == '\r')
            p++;
        if (p < end && *p == '\n') {
            p++;
            (*lines)++;
        }
        r->p = p;
        return r->cell.failed ? field_fail(err, "unavailable", "", "out of memory") : 0;
    }
}

/* Field i of the record in r->cell. */
static const char *csv_field(const imports_reader *r, size_t i)
{
    const char *s = buf_str((buf *)&r->cell);
    while (i--)
        s += strlen(s) + 1;
    return s;
}

static int csv_header(imports_reader *r, struct message_error *err)
{
    size_t nf;
    unsigned lines;
    if (r->p == r->end)
        return field_fail(err, "invalid_csv", "", "the body is empty: a CSV import needs a header");
    if (csv_record(r, &nf, &lines, err) != 0)
        return -1;
    r->line += lines;
    if (nf > IMPORTS_MAX_COLUMNS)
        return field_fail(err, "invalid_csv", "", "the header has more than %d columns",
                          IMPORTS_MAX_COLUMNS);
    if (!(r->cols = calloc(nf, sizeof *r->cols)))
        return field_fail(err, "unavailable", "", "out of memory");
    for (size_t i = 0; i < nf; i++) {
        const char *name = csv_field(r, i);
        size_t n = strlen(name);
        while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
            n--;
        name += strspn(name, " \t");
        n = strnlen(name, n);
        if (!(r->cols[i] = strndup(name, n)))
            return field_fail(err, "unavailable", "", "out of memory");
        r->ncols = i + 1;
        const char *col = r->cols[i];
        bool attr = strncmp(col, ATTR_PREFIX, strlen(ATTR_PREFIX)) == 0 &&
                    field_token_valid(col + strlen(ATTR_PREFIX), OP_MAX_NAME);
        if (!attr && !known_field(col))
            return field_fail(err, "invalid_csv", col,
                              "unknown column \"%.64s\" (known: name, phone, email, channel,"
                              " handle, crm_id, segment, status, attributes.<name>)",
                              col);
        for (size_t k = 0; k < i; k++)
            if (strcmp(r->cols[k], col) == 0)
                return field_fail(err, "invalid_csv", col, "column \"%.64s\" is given twice", col);
    }
    return 0;
}

imports_reader *imports_reader_new(imports_format fmt, const char *body, size_t len,
                                   size_t max_depth, struct message_error *err)
{
    imports_reader *r = calloc(1, sizeof *r);
    if (!r) {
        field_fail(err, "unavailable", "", "out of memory");
        return NULL;
    }
    r->fmt = fmt;
    r->p = body ? body : "";
    r->end = r->p + (body ? len : 0);
    r->line = 1;
    r->max_depth = max_depth;
    r->cell = (buf)BUF_INIT;
    /* A spreadsheet's byte order mark. */
    if (r->end - r->p >= 3 && memcmp(r->p, "\xEF\xBB\xBF", 3) == 0)
        r->p += 3;
    if (fmt == IMPORTS_CSV && csv_header(r, err) != 0)
        imports_reader_destroy(&r);
    return r;
}

void imports_reader_destroy(imports_reader **pr)
{
    imports_reader *r = *pr;
    if (!r)
        return;
    for (size_t i = 0; i < r->ncols; i++)
        free(r->cols[i]);
    free(r->cols);
    buf_release(&r->cell);
    free(r);
    *pr = NULL;
}

static bool blank_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static int ndjson_next(imports_reader *r, json_t **out, unsigned *line, struct message_error *err)
{
    while (r->p < r->end) {
        const char *s = r->p, *eol = memchr(s, '\n', (size_t)(r->end - s));
        size_t n = eol ? (size_t)(eol - s) : (size_t)(r->end - s);
        r->p = eol ? eol + 1 : r->end;
        *line = r->line++;
        if (blank_line(s, n))
            continue;
        if (!jsondepth_ok(s, n, r->max_depth))
            return field_fail(err, "too_deep", "", "the line is nested deeper than %zu levels",
                              r->max_depth);
        json_error_t jerr;
        json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
            return json_error_code(&jerr) == json_error_invalid_utf8
                       ? field_fail(err, "invalid_utf8", "", "the line is not valid UTF-8")
                       : field_fail(err, "invalid_json", "", "could not parse the line: %s",
                                    jerr.text);
        if (!json_is_object(j)) {
            json_decref(j);
            return field_fail(err, "invalid_json", "", "a line must be one JSON object");
        }
        *out = j;
        return 1;
    }
    return 0;
}

/* The record as the JSON object a customer is: empty cells are absent,
 * attributes.<name> columns make "attributes". */
static int csv_object(imports_reader *r, size_t nf, json_t **out, struct message_error *err)
{
    if (nf != r->ncols)
        return field_fail(err, "invalid_csv", "", "the line has %zu fields, the header %zu", nf,
                          r->ncols);
    json_t *o = json_object(), *attrs = NULL;
    if (!o)
        return field_fail(err, "unavailable", "", "out of memory");
    for (size_t i = 0; i < nf; i++) {
        const char *v = csv_field(r, i), *col = r->cols[i];
        if (!v[0])
            continue;
        json_t *s = json_string(v);
        if (!s) {
            json_decref(o);
            json_decref(attrs);
            return field_fail(err, "invalid_utf8", col, "\"%.64s\" is not valid UTF-8", col);
        }
        if (strncmp(col, ATTR_PREFIX, strlen(ATTR_PREFIX)) == 0) {
            if (!attrs)
                attrs = json_object();
            json_object_set_new(attrs, col + strlen(ATTR_PREFIX), s);
        } else {
            json_object_set_new(o, col, s);
        }
    }
    if (attrs)
        json_object_set_new(o, "attributes", attrs);
    *out = o;
    return 0;
}

static int csv_next(imports_reader *r, json_t **out, unsigned *line, struct message_error *err)
{
    while (r->p < r->end) {
        size_t nf;
        unsigned lines;
        *line = r->line;
        int rc = csv_record(r, &nf, &lines, err);
        r->line += lines;
        if (rc != 0)
            return -1;
        if (nf == 1 && !csv_field(r, 0)[0])
            continue; /* a blank line */
        return csv_object(r, nf, out, err) == 0 ? 1 : -1;
    }
    return 0;
}

int imports_reader_next(imports_reader *r, json_t **out, unsigned *line, struct message_error *err)
{
    *out = NULL;
    *line = r->line;
    return r->fmt == IMPORTS_CSV ? csv_next(r, out, line, err) : ndjson_next(r, out, line, err);
}

/* --- POST /v1/customers ------------------------------------------------------------ */

static http_status customer_post(struct write_req *w, const struct access_grant *g)
{
    struct customer_import *c = &w->u.customer;
    struct message_error err;
    if (imports_customer_parse(w->root, time_now_us(), c, &err) != 0)
        return write_reject_invalid(w, &err);
    /* A customer spans channels. */
    if (!auth_unscoped_ok(w->in->auth, w->r, g) || !write_idempotency(w, g, NULL))
        return HTTP_DONE;
    if (!w->entry.idem_key) {
        w->entry.idem_scope = IMPORTS_SCOPE;
        w->entry.idem_key = c->key;
    }
    return write_submit(w, &c->ev);
}

http_status imports_customer_post(http_req *r, void *arg)
{
    const struct access_grant *g;
    struct write_req *w = write_begin_json(r, arg, &g);
    return w ? customer_post(w, g) : HTTP_DONE;
}

/* --- POST /v1/customer-imports ---------------------------------------------------- */

struct import_slot {
    struct customer_import c;
    json_t *doc; /* the record's document: c's strings */
    struct eventlog_entry entry;
    struct import_req *q;
};

struct import_req {
    ingest *in;
    http_req *r;
    imports_reader *rd;
    const char *format;
    char import_id[IMPORTS_KEY_LEN];
    size_t records, accepted, duplicates, failed;
    json_t *errors;
    struct import_slot *slots;
    size_t pending;
    bool broken, submitting;
};

static void import_req_destroy(void *p)
{
    struct import_req *q = p;
    imports_reader_destroy(&q->rd);
    json_decref(q->errors);
    free(q->slots);
    free(q);
}

static void import_error(struct import_req *q, unsigned line, const struct message_error *err)
{
    q->failed++;
    metrics_add("carebus_ingest_imported_total{result=\"failed\"}", 1);
    if (json_array_size(q->errors) >= IMPORTS_MAX_ERRORS)
        return;
    json_array_append_new(
        q->errors, json_pack("{s:i, s:s, s:s?, s:s}", "line", (int)line, "code", err->code, "field",
                             err->field[0] ? err->field : NULL, "message", err->message));
}

static void import_answer(struct import_req *q)
{
    json_t *report =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:O, s:b}", "import_id", q->import_id, "format",
                  q->format, "records", (json_int_t)q->records, "accepted", (json_int_t)q->accepted,
                  "duplicates", (json_int_t)q->duplicates, "failed", (json_int_t)q->failed,
                  "errors", q->errors, "errors_truncated", q->failed > json_array_size(q->errors));
    if (!report) {
        ingest_reply_unavailable(q->r);
        return;
    }
    log_info("customer import %.12s: %zu records, %zu accepted, %zu duplicates, %zu failed",
             q->import_id, q->records, q->accepted, q->duplicates, q->failed);
    http_reply_json(q->r, 200, report);
}

static void import_pump(struct import_req *q);

/* The chunk is done: the next one, or 503 when a commit failed. */
static void import_settle(struct import_req *q)
{
    if (!q->broken) {
        import_pump(q);
        return;
    }
    metrics_add("carebus_ingest_rejected_total{reason=\"unavailable\"}", 1);
    ingest_reply_unavailable(q->r);
}

static void import_on_commit(struct eventlog_entry *e, int ok, void *arg)
{
    struct import_slot *s = arg;
    struct import_req *q = s->q;
    if (ok != 0) {
        q->broken = true;
    } else {
        if (e->duplicate)
            q->duplicates++;
        else
            q->accepted++;
        metrics_add(e->duplicate ? "carebus_ingest_imported_total{result=\"duplicate\"}"
                                 : "carebus_ingest_imported_total{result=\"accepted\"}",
                    1);
    }
    eventlog_entry_release(&s->entry);
    json_decref(s->doc);
    s->doc = NULL;
    /* A failure while the chunk is being submitted calls back at once:
     * the submitting loop settles. */
    if (--q->pending > 0 || q->submitting)
        return;
    import_settle(q);
}

/* Reads the next chunk of records and submits the good ones; answers the
 * report when there is none left. */
static void import_pump(struct import_req *q)
{
    size_t n = 0;
    int64_t now = time_now_us();
    while (n < IMPORTS_CHUNK) {
        json_t *doc;
        unsigned line;
        struct message_error err;
        int rc = imports_reader_next(q->rd, &doc, &line, &err);
        if (rc == 0)
            break;
        q->records++;
        if (rc < 0) {
            import_error(q, line, &err);
            continue;
        }
        struct import_slot *s = &q->slots[n];
        if (imports_customer_parse(doc, now, &s->c, &err) != 0) {
            import_error(q, line, &err);
            json_decref(doc);
            continue;
        }
        s->doc = doc;
        s->q = q;
        s->c.body.import_id = q->import_id;
        s->c.body.line = line;
        memset(&s->entry, 0, sizeof s->entry);
        s->entry.ev = &s->c.ev;
        s->entry.idem_scope = IMPORTS_SCOPE;
        s->entry.idem_key = s->c.key;
        n++;
    }
    if (n == 0) {
        import_answer(q);
        return;
    }
    q->submitting = true;
    for (size_t i = 0; i < n; i++) {
        q->pending++;
        if (group_commit_submit(q->in->gc, &q->slots[i].entry, import_on_commit, &q->slots[i]) == 0)
            continue;
        /* Not queued: the rest is dropped; what was queued calls back. */
        q->pending--;
        q->broken = true;
        for (size_t k = i; k < n; k++) {
            eventlog_entry_release(&q->slots[k].entry);
            json_decref(q->slots[k].doc);
            q->slots[k].doc = NULL;
        }
        break;
    }
    q->submitting = false;
    if (q->pending == 0)
        import_settle(q);
}

http_status imports_bulk_post(http_req *r, void *arg)
{
    ingest *in = arg;
    const struct access_grant *g = auth_grant(r);
    const char *ct = http_header(r, "Content-Type");
    imports_format fmt;
    if (body_type_is(ct, IMPORTS_NDJSON_TYPE)) {
        fmt = IMPORTS_NDJSON;
    } else if (body_type_is(ct, IMPORTS_CSV_TYPE)) {
        fmt = IMPORTS_CSV;
    } else {
        ingest_reject(r, 415, "unsupported_media_type", "unsupported_media_type", NULL,
                      "expected Content-Type \"" IMPORTS_NDJSON_TYPE "\" or \"" IMPORTS_CSV_TYPE
                      "\", got \"%.100s\"",
                      ct ? ct : "");
        return HTTP_DONE;
    }
    if (!auth_unscoped_ok(in->auth, r, g))
        return HTTP_DONE;
    struct import_req *q = calloc(1, sizeof *q);
    if (!q) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    http_set_data(r, q, import_req_destroy);
    q->in = in;
    q->r = r;
    q->format = fmt == IMPORTS_CSV ? "csv" : "ndjson";
    size_t len;
    const char *body = http_body(r, &len);
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(body ? body : "", body ? len : 0, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        !(q->errors = json_array()) || !(q->slots = calloc(IMPORTS_CHUNK, sizeof *q->slots))) {
        ingest_reply_unavailable(r);
        return HTTP_DONE;
    }
    hex_encode(md, sizeof md, q->import_id);
    struct message_error err;
    if (!(q->rd = imports_reader_new(fmt, body, len, in->json_max_depth, &err))) {
        ingest_reject(r, 400, err.code, err.code, err.field[0] ? err.field : NULL, "%s",
                      err.message);
        return HTTP_DONE;
    }
    import_pump(q);
    return HTTP_SUSPENDED;
}
