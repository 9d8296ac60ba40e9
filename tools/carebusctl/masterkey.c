/* masterkey.c — carebusctl master-key make and rotate: the key that wraps
 * the event log's data keys (datakey.h).
 *
 * make creates the file once and keeps it afterwards, like bus keys, so that
 * it can run at every start (make run, compose's one-shot service). A file
 * that is there but not a key is an error, never overwritten: the data keys
 * wrapped by the key it held would be lost with it. Needs no database.
 *
 * rotate re-wraps every data key wrapped by --from with --to, in batches of
 * short transactions while the services run (they must already hold both
 * keys, --to as the current one). Subtle: each batch locks its rows (an
 * erasure deleting one waits for the batch, never loses to it), and only
 * rows still under --from are picked, so a rerun after a kill resumes where
 * the last committed batch ended. One pass over the table by event id, so
 * bounded even if something keeps writing rows under --from: those are
 * counted and reported at the end (exit 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "carebusctl.h"
#include "datakey.h"
#include "hex.h"
#include "keyfile.h"
#include "log.h"

#define ROTATE_BATCH 500
#define ROTATE_BATCH_MAX 100000

int masterkey_make(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "--file") != 0 || !argv[1][0]) {
        fprintf(stderr, "carebusctl: master-key make needs --file PATH\n");
        return CTL_USAGE;
    }
    char err[400];
    int rc = keyfile_make(argv[1], err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "carebusctl: master key: %s\n", err);
        return CTL_FAILED;
    }
    printf("%s %s\n", rc == 1 ? "made" : "kept", argv[1]);
    return CTL_OK;
}

/* One batch after cursor (an event id): rows re-wrapped added to *done, the
 * last event id seen into cursor. 1 more may follow, 0 the pass is over, -1
 * failed (printed). */
static int rotate_batch(db *d, const char *old_id, char cursor[40], const char *limit, long *done)
{
    if (db_begin(d) != 0)
        return -1;
    const char *p[] = {old_id, cursor, limit};
    PGresult *res = db_exec(d,
                            "SELECT event_id::text AS event_id, encode(wrapped, 'hex') AS wrapped"
                            " FROM privacy.datakeys"
                            " WHERE substr(wrapped, 2, 8) = decode($1, 'hex') AND event_id > $2"
                            " ORDER BY event_id LIMIT $3 FOR UPDATE",
                            3, p);
    if (!res)
        goto failed;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        const char *id = db_value(res, i, "event_id"), *hex = db_value(res, i, "wrapped");
        uint8_t w[DATAKEY_WRAPPED_LEN], out[DATAKEY_WRAPPED_LEN];
        char out_hex[2 * DATAKEY_WRAPPED_LEN + 1];
        size_t len = strlen(hex);
        if (len != 2 * DATAKEY_WRAPPED_LEN || hex_decode(hex, len, w, sizeof w) != 0 ||
            datakey_rewrap(id, w, sizeof w, out) != 1) {
            fprintf(stderr, "carebusctl: event %s: its data key does not open with --from\n", id);
            PQclear(res);
            goto failed;
        }
        hex_encode(out, sizeof out, out_hex);
        const char *u[] = {id, out_hex};
        if (db_command(d,
                       "UPDATE privacy.datakeys SET wrapped = decode($2, 'hex')"
                       " WHERE event_id = $1",
                       2, u) != 0) {
            PQclear(res);
            goto failed;
        }
        snprintf(cursor, 40, "%s", id);
    }
    PQclear(res);
    if (db_commit(d) != 0)
        goto failed;
    *done += n;
    return n > 0;
failed:
    db_rollback(d);
    fprintf(stderr, "carebusctl: master-key rotate: a batch failed (rolled back; run again to"
                    " resume)\n");
    return -1;
}

/* The key files --from and --to into the ring (to current, from old) and
 * from's id in hex into old_id. 0 or -1 (printed). */
static int rotate_keys(const char *from, const char *to, char old_id[2 * DATAKEY_MASTER_ID_LEN + 1])
{
    uint8_t a[DATAKEY_LEN], b[DATAKEY_LEN], id[DATAKEY_MASTER_ID_LEN];
    char err[400];
    int rc = -1;
    if (keyfile_read(from, a, err, sizeof err) != 0 || keyfile_read(to, b, err, sizeof err) != 0) {
        fprintf(stderr, "carebusctl: master key: %s\n", err);
    } else if (memcmp(a, b, sizeof a) == 0) {
        fprintf(stderr, "carebusctl: --from and --to hold the same key\n");
    } else {
        datakey_master_set(b);
        datakey_master_add_old(a);
        datakey_master_id(a, id);
        hex_encode(id, sizeof id, old_id);
        rc = 0;
    }
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    return rc;
}

int masterkey_rotate(int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    long batch = ROTATE_BATCH;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--from") == 0)
            from = argv[i + 1];
        else if (strcmp(argv[i], "--to") == 0)
            to = argv[i + 1];
        else if (strcmp(argv[i], "--batch") == 0)
            batch = strtol(argv[i + 1], NULL, 10);
        else
            from = NULL, i = argc; /* unknown: usage */
    }
    if (argc % 2 || !from || !to || !from[0] || !to[0] || batch < 1 || batch > ROTATE_BATCH_MAX) {
        fprintf(stderr,
                "carebusctl: master-key rotate needs --from OLD_FILE --to NEW_FILE"
                " [--batch 1..%d]\n",
                ROTATE_BATCH_MAX);
        return CTL_USAGE;
    }
    char old_id[2 * DATAKEY_MASTER_ID_LEN + 1];
    if (rotate_keys(from, to, old_id) != 0)
        return CTL_FAILED;
    db *d = ctl_connect();
    if (!d)
        return CTL_FAILED;
    char cursor[40] = "00000000-0000-0000-0000-000000000000", limit[24];
    snprintf(limit, sizeof limit, "%ld", batch);
    long done = 0;
    int rc;
    while ((rc = rotate_batch(d, old_id, cursor, limit, &done)) == 1)
        ;
    const char *p[] = {old_id};
    PGresult *res = rc == 0 ? db_exec(d,
                                      "SELECT count(*) AS n FROM privacy.datakeys"
                                      " WHERE substr(wrapped, 2, 8) = decode($1, 'hex')",
                                      1, p)
                            : NULL;
    long left = res ? atol(db_value(res, 0, "n")) : -1;
    PQclear(res);
    db_destroy(&d);
    datakey_master_set(NULL);
    printf("re-wrapped %ld data keys\n", done);
    if (left != 0) {
        if (left > 0)
            fprintf(stderr,
                    "carebusctl: %ld data keys are still wrapped by --from: is a service still"
                    " running with it as its current key? Restart it with --to, then run again\n",
                    left);
        return CTL_FAILED;
    }
    printf("no data key is wrapped by --from any more: it can be removed\n");
    return CTL_OK;
}
