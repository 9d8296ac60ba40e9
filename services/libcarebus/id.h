/* id.h — identifiers: random UUIDs for new events, and name-based (v5)
 * UUIDs for everything derived from an event, so that replaying the log
 * derives the very same ids (a rebuild equals the live state). */
#ifndef CAREBUS_ID_H
#define CAREBUS_ID_H

#include <stdbool.h>

#define ID_LEN 37 /* 36 characters and the NUL */

void id_new(char out[ID_LEN]);
/* v5 UUID of name within the carebus namespace: the same name always gives
 * the same id. */
void id_derive(const char *name, char out[ID_LEN]);
/* Writes v5 of "<a>/<b>" (convenience for id_derive). */
void id_derive2(const char *a, const char *b, char out[ID_LEN]);
bool id_valid(const char *s);
/* id_valid and written as the services write every id (uuid_unparse_lower,
 * PostgreSQL's text): lowercase. The services key their maps by an id's
 * text, so an id from outside is taken only in this spelling. */
bool id_canonical(const char *s);

#endif
