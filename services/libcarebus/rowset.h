/* rowset.h — a table that crosses the C/SQL border, described once.
 *
 * A rowset_table lists a table's columns: the name (in SQL, in JSON, in
 * COPY), the SQL type, and where the value lives in a C struct (an offset
 * and a kind) or a getter/setter pair. Everything that crosses the border
 * comes from that one list: the statements' column lists ({@...}
 * templates, rowset_sql), the batches written, the COPY lines, and the
 * reading of result rows by column name. No column is ever addressed by
 * its position, so the C order and the SQL order cannot drift apart.
 *
 * One way of handing a batch to PostgreSQL: a single parameter holding a
 * JSON array of objects keyed by column name, read by json_to_recordset()
 * (its column list generated from the table: {@rows $1 x}) or by
 * json_populate_recordset(NULL::table, ...) inside a SQL function. Chosen
 * over parallel typed arrays through unnest() because
 *  - the statement has one parameter whatever the table's width, so a SQL
 *    function can take several tables' batches in one document and a
 *    pipeline or a dbq query sends it unchanged;
 *  - values are matched by name, not by the position of an array;
 *  - NULL, numbers, booleans, text[] (a JSON array) and jsonb (raw JSON)
 *    travel as themselves, where array literals need a second level of
 *    quoting for arrays and JSON values;
 *  - the same text goes through db_exec, a pipeline (PQsendQueryParams) and
 *    the non-blocking dbq alike.
 * The cost, each row repeating its keys, is a few bytes per column; the
 * server parses the text once per statement either way. A bulk load, or a
 * large batch, uses COPY text lines from the same table (rowset_copy_line,
 * rowcopy.h): they parse several times faster than JSON. A writer whose
 * wide tables' batches dominate its cost sends them as arrays of a
 * temporary composite type instead (rowset_type_sql, below): the values
 * go by the position of the type's fields, which the writer defines from
 * the same description, so they still reach the table by name.
 *
 * Text that is not valid UTF-8 is written as NULL in both forms (counted in
 * carebus_rowset_invalid_utf8_total): PostgreSQL would refuse the whole
 * statement or COPY, and the two forms must write the same values.
 */
#ifndef CAREBUS_ROWSET_H
#define CAREBUS_ROWSET_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ROWSET_MAX_COLS 64

typedef enum rowset_kind {
    ROWSET_STR,  /* const char *; NULL is SQL NULL */
    ROWSET_ID,   /* char[size] (an id, a day); "" is SQL NULL */
    ROWSET_INT,  /* int; .none is NULL when ROWSET_NULLABLE */
    ROWSET_I64,  /* int64_t; .none is NULL when ROWSET_NULLABLE */
    ROWSET_U64,  /* uint64_t */
    ROWSET_BOOL, /* bool */
    ROWSET_TIME, /* int64_t microseconds since the epoch; .none is NULL */
    ROWSET_JSON, /* const char * of JSON text, written as JSON; NULL is NULL */
    ROWSET_FN,   /* .get writes it, .set reads it */
} rowset_kind;

#define ROWSET_NULLABLE 1u /* ROWSET_INT, ROWSET_I64: .none is SQL NULL */

typedef struct rowset_put rowset_put;

struct rowset_col {
    const char *name; /* the column */
    const char *type; /* its SQL type: "uuid", "timestamptz", "text[]", ... */
    rowset_kind kind;
    size_t off, size; /* the field (ROWSET_AT) */
    int64_t none;     /* ROWSET_TIME, ROWSET_NULLABLE: the value meaning NULL */
    unsigned flags;
    /* ROWSET_FN: writes the value with the rowset_put_* functions ... */
    void (*get)(rowset_put *p, const void *row, const void *ctx);
    /* ... and reads it: text is the cell (NULL for SQL NULL; for a
     * timestamptz, microseconds since the epoch; for an array, its JSON).
     * 0, or -1 to fail the read. NULL: the column is write-only. */
    int (*set)(void *row, const char *text, void *ctx);
};

/* The field f of struct T, for a column's .off and .size. */
#define ROWSET_AT(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)

typedef struct rowset_table {
    const char *name; /* "router.tickets": for COPY and messages */
    const struct rowset_col *cols;
    size_t ncols;
    /* Reading a ROWSET_STR or ROWSET_JSON column: where its copy goes
     * (an arena). NULL when the table is not read into such fields. */
    char *(*strdup)(void *ctx, const char *s);
} rowset_table;

#define ROWSET_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- statements ------------------------------------------------------------ */

/* Expands tmpl into out: every "{@verb args}" becomes a list derived from
 * t; everything else is copied. Verbs (cols: an optional comma-separated
 * subset of t's columns, "id,contacts"; default all):
 *   {@select a [cols]}    a.c1, (extract(epoch FROM a.c2) * 1000000)::bigint AS c2, ...
 *                         (timestamptz as microseconds, arrays as JSON text)
 *   {@cols [cols]}        c1, c2
 *   {@values x [cols]}    x.c1, x.c2
 *   {@set x [cols]}       c1 = x.c1, c2 = x.c2
 *   {@rows $1 x [cols]}   json_to_recordset($1::json) AS x (c1 uuid, c2 text)
 *   {@unnest $1 x}        unnest($1::pg_temp.router_tickets_w[]) AS x (for
 *                         router.tickets: rowset_type_sql's type)
 *   {@defs [cols]}        c1 uuid, c2 text (a table's definition)
 *   {@copy}               COPY table (c1, c2) FROM STDIN
 * A statement of two tables names the second in its tokens by the last
 * part of its name: {@identities.rows $3 k kind,value}.
 * An unknown verb, table or column is a bug: it asserts. 0, or -1 when out
 * of memory. */
int rowset_sql(const rowset_table *t, const char *tmpl, buf *out);
/* The same over several tables: a plain token is the first's, the others
 * are named by the last part of their names ({@facts.rows $2 x}). */
int rowset_sql_tables(const rowset_table *const *ts, size_t nt, const char *tmpl, buf *out);

/* A statement expanded once, on first use, and kept (static storage: the
 * text lives as long as the program). */
typedef struct rowset_stmt {
    const rowset_table *t, *t2;
    const char *tmpl;
    char *text;
} rowset_stmt;
#define ROWSET_STMT(table, tmpl)                                                                   \
    {                                                                                              \
        &(table), NULL, (tmpl), NULL                                                               \
    }
#define ROWSET_STMT2(table, table2, tmpl)                                                          \
    {                                                                                              \
        &(table), &(table2), (tmpl), NULL                                                          \
    }
/* The statement's text; NULL when out of memory. */
const char *rowset_stmt_sql(rowset_stmt *s);

/* --- writing a batch ------------------------------------------------------- */

/* A batch of a wide table costs the server a third or less to read as an
 * array of a composite type, "unnest($1::pg_temp.router_tickets_w[]) x",
 * than as JSON (each value parsed once by its type's input function;
 * json_to_recordset parses the document twice, validating it first, and
 * looks every key up). A composite literal is positional, so the type is
 * the writer's own, never the table's row type (whose order a migration
 * changes under a connected writer): a temporary type whose fields are the
 * described columns in the description's order (rowset_type_sql), created
 * once a session, read by {@unnest $1 x} and written by name into the
 * table ({@cols}, {@values x}). A session that lost the type fails the
 * statement loudly ("type ... does not exist"). */

/* The statements creating t's temporary type (dropping one an earlier
 * creation left first), appended to out: for router.tickets "DROP TYPE IF
 * EXISTS pg_temp.router_tickets_w; CREATE TYPE pg_temp.router_tickets_w AS
 * (id uuid, ...);". Several go as one statement in a DO block. */
void rowset_type_sql(const rowset_table *t, buf *out);

typedef struct rowset {
    const rowset_table *t;
    const void *ctx; /* handed to the getters */
    uint64_t only;   /* the columns written (bit i: column i) */
    bool composite;  /* rowset_type_sql's array literal, else JSON */
    buf b, v;        /* the batch; a field being written */
    size_t n;
    bool closed;
} rowset;

void rowset_init(rowset *w, const rowset_table *t, const void *ctx);
/* The same, the batch an array literal of t's temporary type
 * (rowset_type_sql): "{\"(f1,f2)\",...}", each row's fields in the
 * description's order; the columns rowset_only leaves out are NULL fields,
 * which the statement must not read. */
void rowset_init_composite(rowset *w, const rowset_table *t, const void *ctx);
/* Writes only these columns ("id,contacts,updated_at"), as a
 * {@rows $1 x id,contacts,updated_at} reads them. */
void rowset_only(rowset *w, const char *cols);
/* Appends row (a pointer to the described struct): one JSON object, or one
 * composite. */
void rowset_add(rowset *w, const void *row);
size_t rowset_count(const rowset *w);
/* The batch, "[{...},...]", or for rowset_init_composite an array literal
 * (named for the first form; borrowed until the next add, clear or
 * release); NULL when an allocation failed. */
const char *rowset_json(rowset *w);
/* Empties the batch; the table, context and columns stay. */
void rowset_clear(rowset *w);
void rowset_release(rowset *w);

/* Appends row as one COPY text line ({@copy}'s columns, tab-separated,
 * escaped, \N for NULL, a newline). */
void rowset_copy_line(const rowset_table *t, const void *row, const void *ctx, buf *out);

/* The columns a comma-separated list names, as a set for rowset_copy_read
 * (NULL: all). */
uint64_t rowset_cols(const rowset_table *t, const char *cols);
/* Reads one line of a COPY ... TO STDOUT (text format) of
 * "SELECT {@select a cols}" into row: its fields are those columns, in the
 * table's order, read as rowset_read reads cells. 0, or -1 when the line
 * has another number of fields or a setter refused its value. */
int rowset_copy_read(const rowset_table *t, uint64_t cols, const char *line, size_t len, void *row,
                     void *ctx);

/* In a getter: the column's value. */
void rowset_put_null(rowset_put *p);
void rowset_put_str(rowset_put *p, const char *s); /* NULL: NULL */
void rowset_put_i64(rowset_put *p, int64_t v);
void rowset_put_bool(rowset_put *p, bool v);
void rowset_put_time(rowset_put *p, int64_t us);                     /* RFC 3339 */
void rowset_put_json(rowset_put *p, const char *json);               /* NULL: NULL */
void rowset_put_strv(rowset_put *p, const char *const *s, size_t n); /* a text[] */
void rowset_put_bytea(rowset_put *p, const uint8_t *data, size_t len);

/* --- key lists --------------------------------------------------------------- */

/* A list of keys to look up is not a batch of rows: it goes as one array
 * parameter ("= ANY($1::uuid[])", an index probe). Appends keys as an
 * array literal, each quoted. */
void rowset_keys(buf *b, const char *const *keys, size_t n);

/* --- reading a result ------------------------------------------------------ */

typedef struct rowset_reader {
    const rowset_table *t;
    const PGresult *res;
    int col[ROWSET_MAX_COLS]; /* res's column of each of t's, -1 */
} rowset_reader;

/* Maps res's columns to t's by name. -1 (logged) when res has a column
 * that t does not describe (a misspelt alias would otherwise go unread);
 * t's columns that res lacks are simply not read. */
int rowset_reader_init(rowset_reader *r, const rowset_table *t, const PGresult *res);
/* Reads result row i into row (ctx goes to the setters and to t->strdup).
 * 0, or -1 when a setter refused its value or a copy failed. */
int rowset_read(const rowset_reader *r, int i, void *row, void *ctx);

#endif
