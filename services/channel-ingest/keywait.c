/* keywait.c — polls the key table until it shows a key's arrival or
 * departure. */
#include "keywait.h"

#include "auth.h"
#include "loop.h"

static int keywait_tick(loop *l, void *arg)
{
    struct keywait *w = arg;
    bool present = auth_lookup_id(w->in->auth, w->key_id) != NULL;
    if (present != w->present && ++w->rounds < KEYWAIT_ROUNDS)
        return 0;
    loop_remove_timer(l, w->timer);
    w->timer = 0;
    w->done(w, present == w->present);
    return 0;
}

int keywait_start(struct keywait *w)
{
    w->rounds = 0;
    w->timer = loop_add_timer(w->in->svc->loop, KEYWAIT_POLL_MS, keywait_tick, w);
    if (w->timer < 0) {
        w->timer = 0;
        return -1;
    }
    return 0;
}

void keywait_stop(struct keywait *w)
{
    if (w->timer > 0)
        loop_remove_timer(w->in->svc->loop, w->timer);
    w->timer = 0;
}
