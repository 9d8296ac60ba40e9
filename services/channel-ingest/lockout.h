/* lockout.h — when a sign-in is refused before its password is checked.
 *
 * Every attempt of a login (the agent it names, or the words typed when it
 * names none) is counted before its password is checked, and a success
 * clears the count (ingest.signin_failures, 0092). Past
 * CAREBUS_SIGNIN_FAILURES attempts in a row, the next are refused (429,
 * Retry-After) until CAREBUS_SIGNIN_LOCKOUT_S after the last attempt let
 * through; then the count starts again from one. Counting first means
 * checks running at once cannot pass the bound between them. Unknown
 * logins are treated alike, so a refusal tells nothing of who exists; and
 * whoever knows an agent's id or e-mail can lock that agent out for a
 * while, as with any per-account lockout.
 */
#ifndef LOCKOUT_H
#define LOCKOUT_H

/* Seconds before the login may try again (0: this attempt goes on), for
 * the attempt counted as number `attempt` in a row, the last one let
 * through since_last_s ago. */
long lockout_wait_s(long attempt, double since_last_s, long max_failures, long lockout_s);

#endif
