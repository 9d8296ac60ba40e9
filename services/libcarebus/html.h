/* html.h — text into HTML.
 *
 * One escaper for every page: & < > " and ' all become references, so the
 * result is safe in element content and in attribute values quoted either
 * way. Bytes are otherwise copied as they are (the pages are UTF-8).
 */
#ifndef CAREBUS_HTML_H
#define CAREBUS_HTML_H

#include "buf.h"

/* Appends s to b with & < > " ' escaped; NULL appends nothing. */
void html_escape(buf *b, const char *s);

#endif
