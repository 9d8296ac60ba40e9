/* carebusctl — the operator's command-line tool.
 *
 *   carebusctl keys create --name NAME [--channels zalo,email]
 *                          [--scopes ingest,read] [--agent ID] [--json]
 *   carebusctl keys list [--json]
 *   carebusctl keys revoke ID
 *   carebusctl enums list [--json]
 *   carebusctl bus keys [--dir DIR]
 *   carebusctl bus allow NAME [--dir DIR] [--json]
 *   carebusctl bus revoke NAME [--dir DIR]
 *   carebusctl bus list [--dir DIR] [--json]
 *   carebusctl bus streams [--json]
 *   carebusctl master-key make --file PATH
 *   carebusctl master-key rotate --from OLD_FILE --to NEW_FILE [--batch N]
 *   carebusctl channels set CHANNEL KEY=VALUE...
 *   carebusctl channels list [--json]
 *
 * The keys and channels commands connect to CAREBUS_PG and apply pending migrations
 * first (so they work on a fresh database, before any service started); the
 * bus commands work on files (buskeys.c). The command table
 * below is the whole list of what it does; each command lives in its own
 * file (keys.c, enums.c). Exit status: 0 done, 1 failed, 2 wrong usage.
 */
#include <stdio.h>
#include <string.h>

#include "carebusctl.h"
#include "config.h"
#include "log.h"
#include "scope.h"
#include "vocab.h"

static const struct ctl_command commands[] = {
    {"keys", "create", keys_create,
     "--name NAME [--channels zalo,email] [--scopes ingest,read] [--agent ID] [--json]",
     "make an API key (printed once)"},
    {"keys", "list", keys_list, "[--json]", "list the API keys (never the keys themselves)"},
    {"keys", "revoke", keys_revoke, "ID", "revoke a key (refused within ~1 s, its sessions too)"},
    {"enums", "list", enums_list, "[--json]", "the schema's enums (names, labels) and event types"},
    {"bus", "keys", buskeys_make, "[--dir DIR]",
     "the bus's CURVE keys: what DIR lacks (kept otherwise), or a set printed"},
    {"bus", "allow", buskeys_allow, "NAME [--dir DIR] [--json]",
     "a subscriber's key pair (printed once), its public key allowed"},
    {"bus", "revoke", buskeys_revoke, "NAME [--dir DIR]",
     "remove a subscriber's key (dropped within ~1 s)"},
    {"bus", "list", buskeys_list, "[--dir DIR] [--json]", "the subscribers allowed on the bus"},
    {"bus", "streams", busstreams_list, "[--json]",
     "the producers: each stream's service, endpoint variable and default endpoint"},
    {"master-key", "make", masterkey_make, "--file PATH",
     "make the key that wraps personal data's keys, unless PATH holds one"},
    {"master-key", "rotate", masterkey_rotate, "--from OLD_FILE --to NEW_FILE [--batch N]",
     "re-wrap every data key wrapped by OLD with NEW (resumable; services keep running)"},
    {"channels", "set", channels_set, "CHANNEL KEY=VALUE...",
     "a sender's settings (CAREBUS_ names), stored for courier; KEY= removes one"},
    {"channels", "list", channels_list, "[--json]",
     "the senders' stored settings (names only, never values)"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char line[160];
        snprintf(line, sizeof line, "%s %s %s", commands[i].group, commands[i].name,
                 commands[i].args);
        if (strlen(line) > 58) /* too long for the column: its help below */
            fprintf(f, "  carebusctl %s\n  %-69s %s\n", line, "", commands[i].help);
        else
            fprintf(f, "  carebusctl %-58s %s\n", line, commands[i].help);
    }
    fprintf(f, "\nChannels (--channels): %s.\n", vocab_list(&carebus__v1__channel__descriptor));
    fprintf(f, "Scopes (--scopes, default ingest,read; --agent binds an agent key):\n");
    for (unsigned s = 1; s & SCOPE_ALL; s <<= 1)
        fprintf(f, "  %-11s %s\n", scope_name(s), scope_doc(s));
    fprintf(f, "The database is CAREBUS_PG (default \"%s\").\n", CONFIG_DEFAULT_PG);
    fprintf(f, "The bus's keys folder is --dir or CAREBUS_BUS_CURVE_DIR; the allow-list is in it,\n"
               "or CAREBUS_BUS_CURVE_ALLOWED_CLIENTS.\n");
}

int main(int argc, char **argv)
{
    log_init("carebusctl");
    /* The log is for operators of services; a command-line user wants its
     * output and real problems only. */
    if (!config_str("LOG_LEVEL", NULL))
        log_set_level(LOG_WARN);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return CTL_OK;
    }
    if (argc < 3) {
        usage(stderr);
        return CTL_USAGE;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].group) == 0 && strcmp(argv[2], commands[i].name) == 0)
            return commands[i].fn(argc - 3, argv + 3);
    fprintf(stderr, "carebusctl: unknown command \"%s %s\"\n\n", argv[1], argv[2]);
    usage(stderr);
    return CTL_USAGE;
}
