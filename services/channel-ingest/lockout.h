/* lockout.h — when a sign-in is refused before its password is checked.
 *
 * A login (the agent it names, or the words typed when it names none)
 * that failed CAREBUS_SIGNIN_FAILURES times in a row is refused for
 * CAREBUS_SIGNIN_LOCKOUT_S after its last failure (429, Retry-After), and
 * its failures count again from one once that time has passed
 * (ingest.signin_failures, 0065). Unknown logins are treated alike, so a
 * refusal tells nothing of who exists.
 */
#ifndef LOCKOUT_H
#define LOCKOUT_H

/* Seconds before the login may try again (0: it may now), for a login
 * with failures in a row, the last since_last_s ago. */
long lockout_wait_s(long failures, double since_last_s, long max_failures, long lockout_s);

#endif
