/* keywait.h — an answer held until the key table shows a change.
 *
 * The key table (auth.h) is reloaded every AUTH_REFRESH_MS. A request that
 * made a key (POST /v1/sessions, POST /v1/keys) or revoked one (DELETE
 * /v1/sessions/current, DELETE /v1/keys/{id}) is answered once this
 * process accepts the key, or no longer does, so that the caller's next
 * request sees what it was told. The table is looked at every
 * KEYWAIT_POLL_MS, at most KEYWAIT_ROUNDS times; then done says whether
 * the change was seen.
 */
#ifndef KEYWAIT_H
#define KEYWAIT_H

#include <stdbool.h>

#include "id.h"
#include "ingest.h"

#define KEYWAIT_POLL_MS 50
#define KEYWAIT_ROUNDS 100

struct keywait {
    /* Set by the caller before keywait_start: */
    ingest *in;
    char key_id[ID_LEN];
    bool present; /* wait for the key to be accepted (true), or refused */
    void (*done)(struct keywait *w, bool seen);
    void *arg; /* done's */
    /* The wait's own: */
    int timer; /* > 0 while it waits */
    int rounds;
};

/* Starts the wait: 0, or -1 when no timer could be set (done is not
 * called then). */
int keywait_start(struct keywait *w);

/* Stops a wait in progress (the request's release). */
void keywait_stop(struct keywait *w);

#endif
