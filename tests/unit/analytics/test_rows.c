/* test_rows.c — a ticket's sample rows compared before and after a batch.
 *
 * The live path writes of a stored ticket only the samples whose values
 * moved and deletes those it no longer has (rows_samples_diff): a sample
 * left out by mistake would make the live tables differ from a rebuild's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rows.h"

/* Facts of a ticket opened, answered and solved (all four samples). */
static struct ticket_facts facts(void)
{
    struct ticket_facts f;
    memset(&f, 0, sizeof f);
    f.opened = true;
    f.created = 1000;
    f.dims[DIM_ALL] = "";
    f.dims[DIM_CHANNEL] = "email";
    f.dims[DIM_TEAM] = "support";
    f.dims[DIM_AGENT] = "agent-01";
    f.dims[DIM_SEGMENT] = "regular";
    f.dims[DIM_CATEGORY] = "billing";
    f.fr_at = 5000;
    f.fr_ms = 4000;
    f.frb_ms = 3000;
    f.fr_day = 20000;
    f.solved_at = 9000;
    f.res_ms = 8000;
    f.resb_ms = 7000;
    f.solved_day = 20001;
    return f;
}

static void diff(const struct ticket_facts *a, const struct ticket_facts *b, unsigned *put,
                 unsigned *gone)
{
    struct rows_samples x, y;
    rows_samples_of(&x, a);
    rows_samples_of(&y, b);
    rows_samples_diff(&x, &y, put, gone);
}

static void test_samples_diff(void **state)
{
    (void)state;
    unsigned all = (1u << H_COUNT) - 1, put, gone;
    struct ticket_facts a = facts(), b = facts();
    diff(&a, &b, &put, &gone);
    assert_int_equal(put, 0);
    assert_int_equal(gone, 0);

    /* A later solve: the resolution's two samples only. */
    b.res_ms = 9999;
    b.resb_ms = 8888;
    diff(&a, &b, &put, &gone);
    assert_int_equal(put, (1u << H_RES) | (1u << H_RESB));
    assert_int_equal(gone, 0);

    /* Same durations on another day. */
    b = facts();
    b.fr_day = 20002;
    diff(&a, &b, &put, &gone);
    assert_int_equal(put, (1u << H_FR) | (1u << H_FRB));

    /* A dimension moved (the team's string is copied, not borrowed): all. */
    char team[] = "support";
    a.dims[DIM_TEAM] = team;
    struct rows_samples x, y;
    rows_samples_of(&x, &a);
    strcpy(team, "sales");
    rows_samples_of(&y, &a);
    rows_samples_diff(&x, &y, &put, &gone);
    assert_int_equal(put, all);
    assert_int_equal(gone, 0);

    /* Reopened (no solve any more): the resolution's samples are gone. */
    a = facts();
    b = facts();
    b.solved_at = b.res_ms = b.resb_ms = MODEL_NONE;
    diff(&a, &b, &put, &gone);
    assert_int_equal(put, 0);
    assert_int_equal(gone, (1u << H_RES) | (1u << H_RESB));
    /* ... and solved again. */
    diff(&b, &a, &put, &gone);
    assert_int_equal(put, (1u << H_RES) | (1u << H_RESB));
    assert_int_equal(gone, 0);

    /* Merged into another ticket: no first response samples. */
    b = facts();
    b.merged = true;
    diff(&a, &b, &put, &gone);
    assert_int_equal(put, 0);
    assert_int_equal(gone, (1u << H_FR) | (1u << H_FRB));

    /* A segment moved: every sample, none gone. */
    b = facts();
    b.dims[DIM_SEGMENT] = "vip";
    diff(&a, &b, &put, &gone);
    assert_int_equal(put, all);
    assert_int_equal(gone, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
