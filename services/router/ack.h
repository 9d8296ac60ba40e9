/* ack.h — acknowledgements: "we received your request, ticket number ...",
 * sent on a new ticket's channel when that channel has them enabled.
 *
 * The configuration (deploy/config/acknowledgements.json, or
 * CAREBUS_ACK_CONFIG) lists the channels that acknowledge and the texts,
 * per language (vi, en) and optionally per channel: one for business hours
 * and one for after hours, an email subject, and the name used when the
 * customer gave none. Placeholders: {customer_name} {ticket_number}; any
 * other {word} is refused, so that a typo does not reach customers.
 *
 * Whether it is business hours is read on the department's calendar
 * (calendar_config.h, the files sla-monitor reads) at the contact's own
 * time, never the wall clock: a replay writes the same text. Like the
 * routing rules, the configuration is an input of the router besides the
 * log (see router.c).
 */
#ifndef CAREBUS_ROUTER_ACK_H
#define CAREBUS_ROUTER_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "calendar.h"
#include "event.h"
#include "language.h"

#define ACK_CONFIG_DEFAULT "deploy/config/acknowledgements.json"
#define ACK_CALENDAR_DEFAULT "vn-business"
#define ACK_MAX_BYTES (256u * 1024)

typedef enum ack_text {
    ACK_BUSINESS_HOURS, /* the acknowledgement within business hours */
    ACK_AFTER_HOURS,    /* ... outside them */
    ACK_SUBJECT,        /* an email's subject when the contact had none */
    ACK_NO_NAME,        /* {customer_name} when the customer gave none */
    ACK_NTEXTS
} ack_text;

typedef struct ack ack;

/* Reads a configuration (JSON text; origin names it in errors). NULL with
 * err set when it does not validate: not JSON, an unknown channel or
 * language, a text missing from "default", an unknown placeholder. */
ack *ack_parse(const char *json, size_t len, const char *origin, char *err, size_t errlen);
/* The same from a file (blocks on the file system). */
ack *ack_load(const char *path, char *err, size_t errlen);
void ack_destroy(ack **pa);

/* True when some channel acknowledges. */
bool ack_any(const ack *a);
bool ack_enabled(const ack *a, Carebus__V1__Channel channel);

/* The calendar business hours are read on (taken; *cal is NULLed). Without
 * one, every time is business hours. */
void ack_set_calendar(ack *a, calendar **cal);
bool ack_business_hours(const ack *a, int64_t at_us);

/* Appends to out the text for channel in lang, placeholders filled
 * (customer_name NULL or blank: the ACK_NO_NAME text). The channel's own
 * text if it has one, else the default's. */
void ack_render(const ack *a, Carebus__V1__Channel channel, language_id lang, ack_text which,
                const char *customer_name, int64_t ticket_number, buf *out);

#endif
