/* masterkey.c — carebusctl master-key make: the key that wraps the event
 * log's data keys (datakey.h).
 *
 * Makes the file once and keeps it afterwards, like bus keys, so that it can
 * run at every start (make run, compose's one-shot service). A file that is
 * there but not a key is an error, never overwritten: the data keys wrapped
 * by the key it held would be lost with it. Needs no database.
 */
#include <stdio.h>
#include <string.h>

#include "carebusctl.h"
#include "datakey.h"

int masterkey_make(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "--file") != 0 || !argv[1][0]) {
        fprintf(stderr, "carebusctl: master-key make needs --file PATH\n");
        return CTL_USAGE;
    }
    char err[400];
    int rc = datakey_master_file_make(argv[1], err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "carebusctl: master key: %s\n", err);
        return CTL_FAILED;
    }
    printf("%s %s\n", rc == 1 ? "made" : "kept", argv[1]);
    return CTL_OK;
}
