/* streams.c — carebusctl bus streams: the bus's producers, from bus.c's table.
 *
 * Each stream with the service that publishes it, the variable that names
 * its endpoint and the default endpoint (its port). The table in bus.c is
 * the one place they are written; the run script, the compose files and
 * the tests are checked against this output
 * (tests/integration/test_bus_streams.py). Needs no database.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "carebusctl.h"

int busstreams_list(int argc, char **argv)
{
    bool json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 1 || (argc == 1 && !json)) {
        fprintf(stderr, "carebusctl: unexpected argument \"%s\"\n", argv[argc - 1]);
        return CTL_USAGE;
    }
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-8s  %-15s  %-20s  %s\n", "STREAM", "PRODUCER", "VARIABLE", "DEFAULT");
    for (size_t i = 0; i < bus_stream_count(); i++) {
        const struct bus_stream *s = bus_stream_get(i);
        const char *colon = strrchr(s->def, ':');
        int port = colon ? atoi(colon + 1) : 0;
        if (arr)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:i}", "stream", s->stream,
                                                 "producer", s->producer, "var", s->var, "endpoint",
                                                 s->def, "port", port));
        else
            printf("%-8s  %-15s  %-20s  %s\n", s->stream, s->producer, s->var, s->def);
    }
    if (arr)
        ctl_print_json(arr);
    return CTL_OK;
}
