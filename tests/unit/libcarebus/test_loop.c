/* test_loop.c — loop.c: fds are known by their number.
 *
 * An fd number is registered once: adding a number that is still
 * registered means its earlier owner closed it before loop_remove_fd (the
 * kernel gave the number to a new file), and is a bug the loop stops at
 * (the assert stays on in every build) rather than later removing, or
 * calling back, the wrong owner. A number removed first may be added again
 * (a new file of the same number). The abort is watched from a child.
 *
 * Run one test by name: test_loop <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "loop.h"

static int on_io(loop *l, short revents, void *arg)
{
    (void)l;
    (void)revents;
    (void)arg;
    return 0;
}

static void test_a_number_removed_first_may_come_back(void **state)
{
    (void)state;
    loop *l = loop_new();
    assert_non_null(l);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(loop_add_fd(l, p[0], ZMQ_POLLIN, on_io, NULL), 0);
    loop_remove_fd(l, p[0]);
    assert_int_equal(loop_add_fd(l, p[0], ZMQ_POLLIN, on_io, NULL), 0);
    loop_remove_fd(l, p[0]);
    close(p[0]);
    close(p[1]);
    loop_destroy(&l);
}

static void test_a_number_still_registered_is_refused(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        loop *l = loop_new();
        int p[2];
        if (!l || pipe(p) != 0 || loop_add_fd(l, p[0], ZMQ_POLLIN, on_io, NULL) != 0)
            _exit(2);
        /* Closed without loop_remove_fd; a new file takes the number. */
        close(p[0]);
        int again = dup(p[1]);
        if (again != p[0])
            _exit(3);
        loop_add_fd(l, again, ZMQ_POLLIN, on_io, NULL);
        _exit(0); /* not reached: the assert aborts */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_number_removed_first_may_come_back),
        cmocka_unit_test(test_a_number_still_registered_is_refused),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
