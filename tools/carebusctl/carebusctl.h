/* carebusctl.h — the tool's command table and what commands share. */
#ifndef CAREBUSCTL_H
#define CAREBUSCTL_H

#include <jansson.h>

#include "db.h"

enum { CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 2 };

/* argv holds the command's own arguments (after "keys create"). Returns
 * the exit status. */
typedef int (*ctl_fn)(int argc, char **argv);

struct ctl_command {
    const char *group;
    const char *name;
    ctl_fn fn;
    const char *args;
    const char *help;
};

int keys_create(int argc, char **argv);
int keys_list(int argc, char **argv);
int keys_revoke(int argc, char **argv);
int enums_list(int argc, char **argv);
int buskeys_make(int argc, char **argv);
int buskeys_allow(int argc, char **argv);
int buskeys_revoke(int argc, char **argv);
int buskeys_list(int argc, char **argv);
int busstreams_list(int argc, char **argv);
int masterkey_make(int argc, char **argv);
int masterkey_rotate(int argc, char **argv);
int channels_set(int argc, char **argv);
int channels_list(int argc, char **argv);

/* Connects to CAREBUS_PG and applies pending migrations; NULL after
 * printing why. Blocks. */
db *ctl_connect(void);

/* Prints j compactly on one line of stdout (nothing when j is NULL) and
 * releases it (--json output). */
void ctl_print_json(json_t *j);

#endif
