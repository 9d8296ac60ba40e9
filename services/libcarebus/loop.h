/* loop.h — the one-thread reactor every service runs on.
 *
 * One zmq_poll() over everything a service waits on: file descriptors
 * (signalfd, libmicrohttpd's epoll fd, the PostgreSQL socket) and ZeroMQ
 * sockets, with a timeout from the nearest timer. SIGTERM and SIGINT stop the
 * loop; SIGHUP calls the reload handler.
 */
#ifndef CAREBUS_LOOP_H
#define CAREBUS_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct loop loop;

/* Called when the fd or socket is ready (revents: ZMQ_POLLIN/OUT/ERR). A
 * return of -1 stops the loop with an error. */
typedef int (*loop_io_fn)(loop *l, short revents, void *arg);
/* Called when the timer is due. -1 stops the loop with an error. */
typedef int (*loop_timer_fn)(loop *l, void *arg);

/* Blocks SIGTERM, SIGINT and SIGHUP and reads them through a signalfd. */
loop *loop_new(void);
void loop_destroy(loop **pl);

/* fds are known by their number: an owner calls loop_remove_fd before it
 * closes its fd (the number may be given to a new file at once); adding a
 * number still registered is a bug (asserted). */
int loop_add_fd(loop *l, int fd, short events, loop_io_fn fn, void *arg);
int loop_add_socket(loop *l, void *zsock, short events, loop_io_fn fn, void *arg);
/* Changes the events watched for fd (e.g. add ZMQ_POLLOUT while flushing). */
int loop_set_fd_events(loop *l, int fd, short events);
void loop_remove_fd(loop *l, int fd);
void loop_remove_socket(loop *l, void *zsock);

/* A repeating timer. Returns its id (>0) or -1. */
int loop_add_timer(loop *l, long interval_ms, loop_timer_fn fn, void *arg);
void loop_remove_timer(loop *l, int id);
void loop_on_reload(loop *l, void (*fn)(void *arg), void *arg);

/* Runs until SIGTERM/SIGINT or loop_stop. 0 on a clean stop, -1 on error.
 * Every function here is for the loop's own thread; another thread wakes or
 * stops it through an fd it registered (a pipe or eventfd). */
int loop_run(loop *l);
void loop_stop(loop *l);

#endif
