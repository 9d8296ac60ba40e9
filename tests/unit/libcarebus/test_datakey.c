/* test_datakey.c — datakey.c and personal.c: sealing the personal fields of
 * an event, opening them, and what an erased key reads as.
 *
 * The personal list is checked against the generated descriptors (every
 * entry names a string field), so it cannot name a field the schema lost.
 * Run one test by name: test_datakey <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "datakey.h"
#include "event.h"
#include "personal.h"

static const uint8_t master_a[DATAKEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t master_b[DATAKEY_LEN] = {9, 8, 7};
#define EVENT_ID "6f1c9b1e-3f0a-4c1e-9a55-0c1c2d3e4f50"

/* A contact with every kind of personal field, packed. */
static uint8_t *contact(size_t *len)
{
    Carebus__V1__CustomerRef who = CAREBUS__V1__CUSTOMER_REF__INIT;
    who.name = "Nguyễn Thị Lan";
    who.phone = "+84901234567";
    who.email = "lan@example.vn";
    who.handle = "zalo-4120978365";
    Carebus__V1__Attachment att = CAREBUS__V1__ATTACHMENT__INIT, *atts[] = {&att};
    att.name = "hoa-don.pdf";
    att.content_type = "application/pdf";
    att.url = "https://files.example.vn/hoa-don.pdf";
    att.media_id = "wa-media-2754859441498128";
    Carebus__V1__ContactReceived body = CAREBUS__V1__CONTACT_RECEIVED__INIT;
    body.channel = CAREBUS__V1__CHANNEL__CHANNEL_ZALO;
    body.external_id = "msg-1";
    body.customer = &who;
    body.text = "Tôi chưa nhận được hàng, gọi 0901 234 567";
    body.n_attachments = 1;
    body.attachments = atts;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.event_id = EVENT_ID;
    ev.type = "contact.received";
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CONTACT_RECEIVED;
    ev.contact_received = &body;
    return event_pack(&ev, len);
}

static void test_list_names_string_fields(void **state)
{
    (void)state;
    assert_true(personal_fields_count > 10);
    for (size_t i = 0; i < personal_fields_count; i++) {
        const struct personal_field *p = &personal_fields[i];
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(p->message, p->field);
        if (!f || f->type != PROTOBUF_C_TYPE_STRING)
            fail_msg("%s.%s is not a string field", p->message->name, p->field);
        assert_true(personal_is(p->message, f));
    }
    const ProtobufCFieldDescriptor *ext = protobuf_c_message_descriptor_get_field_by_name(
        &carebus__v1__contact_received__descriptor, "external_id");
    assert_false(personal_is(&carebus__v1__contact_received__descriptor, ext));
}

static void test_seal_and_open(void **state)
{
    (void)state;
    datakey_master_set(master_a);
    size_t len;
    uint8_t *plain = contact(&len);
    buf sealed = BUF_INIT, opened = BUF_INIT;
    uint8_t wrapped[DATAKEY_WRAPPED_LEN];
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &sealed, wrapped), 1);
    /* nothing personal is left readable; the rest is */
    const char *gone[] = {"Lan",     "+84901234567",  "lan@example",      "4120978365",
                          "hoa-don", "files.example", "2754859441498128", "0901"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        assert_null(memmem(sealed.data, sealed.len, gone[i], strlen(gone[i])));
    assert_non_null(memmem(sealed.data, sealed.len, "msg-1", 5));
    assert_non_null(memmem(sealed.data, sealed.len, "application/pdf", 15));
    /* opened, it is the very envelope that was sealed, byte for byte */
    assert_int_equal(
        datakey_open((const uint8_t *)sealed.data, sealed.len, wrapped, sizeof wrapped, &opened),
        1);
    assert_int_equal(opened.len, len);
    assert_memory_equal(opened.data, plain, len);
    /* two seals of one event never share a key or a ciphertext */
    buf again = BUF_INIT;
    uint8_t wrapped2[DATAKEY_WRAPPED_LEN];
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &again, wrapped2), 1);
    assert_memory_not_equal(wrapped, wrapped2, sizeof wrapped);
    assert_false(again.len == sealed.len && memcmp(again.data, sealed.data, again.len) == 0);
    buf_release(&again);
    buf_release(&sealed);
    buf_release(&opened);
    free(plain);
}

static void test_erased_key_reads_erased(void **state)
{
    (void)state;
    datakey_master_set(master_a);
    size_t len;
    uint8_t *plain = contact(&len);
    buf sealed = BUF_INIT, opened = BUF_INIT;
    uint8_t wrapped[DATAKEY_WRAPPED_LEN];
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &sealed, wrapped), 1);
    assert_int_equal(datakey_open((const uint8_t *)sealed.data, sealed.len, NULL, 0, &opened), 1);
    event *ev = event_unpack((const uint8_t *)opened.data, opened.len);
    assert_non_null(ev);
    Carebus__V1__ContactReceived *c = ev->contact_received;
    assert_string_equal(c->customer->name, DATAKEY_ERASED);
    assert_string_equal(c->customer->phone, DATAKEY_ERASED);
    assert_string_equal(c->customer->email, DATAKEY_ERASED);
    assert_string_equal(c->customer->handle, DATAKEY_ERASED);
    assert_string_equal(c->text, DATAKEY_ERASED);
    assert_string_equal(c->attachments[0]->url, DATAKEY_ERASED);
    /* what was empty stays empty, what is not personal stays */
    assert_string_equal(c->subject, "");
    assert_string_equal(c->external_id, "msg-1");
    assert_int_equal(c->channel, CAREBUS__V1__CHANNEL__CHANNEL_ZALO);
    assert_string_equal(ev->event_id, EVENT_ID);
    event_destroy(&ev);
    buf_release(&sealed);
    buf_release(&opened);
    free(plain);
}

static void test_wrong_key_fails(void **state)
{
    (void)state;
    datakey_master_set(master_a);
    size_t len;
    uint8_t *plain = contact(&len);
    buf sealed = BUF_INIT, opened = BUF_INIT;
    uint8_t wrapped[DATAKEY_WRAPPED_LEN];
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &sealed, wrapped), 1);
    /* another master key: a configuration mistake, not an erasure */
    datakey_master_set(master_b);
    assert_int_equal(
        datakey_open((const uint8_t *)sealed.data, sealed.len, wrapped, sizeof wrapped, &opened),
        -1);
    datakey_master_set(NULL);
    assert_int_equal(
        datakey_open((const uint8_t *)sealed.data, sealed.len, wrapped, sizeof wrapped, &opened),
        -1);
    datakey_master_set(master_a);
    /* a tampered key, a key of the wrong length */
    wrapped[DATAKEY_WRAPPED_LEN - 1] ^= 1;
    assert_int_equal(
        datakey_open((const uint8_t *)sealed.data, sealed.len, wrapped, sizeof wrapped, &opened),
        -1);
    wrapped[DATAKEY_WRAPPED_LEN - 1] ^= 1;
    assert_int_equal(datakey_open((const uint8_t *)sealed.data, sealed.len, wrapped,
                                  sizeof wrapped - 1, &opened),
                     -1);
    /* another event's key (the event id is the wrap's additional data) */
    uint8_t other[DATAKEY_WRAPPED_LEN];
    buf sealed2 = BUF_INIT;
    assert_int_equal(
        datakey_seal(plain, len, "00000000-0000-4000-8000-000000000001", &sealed2, other), 1);
    assert_int_equal(
        datakey_open((const uint8_t *)sealed.data, sealed.len, other, sizeof other, &opened), -1);
    assert_int_equal(
        datakey_open((const uint8_t *)sealed.data, sealed.len, wrapped, sizeof wrapped, &opened),
        1);
    buf_release(&sealed2);
    buf_release(&sealed);
    buf_release(&opened);
    free(plain);
}

static void test_nothing_to_seal(void **state)
{
    (void)state;
    size_t len;
    uint8_t *plain = contact(&len);
    buf out = BUF_INIT;
    uint8_t wrapped[DATAKEY_WRAPPED_LEN];
    /* no master key: stored as it is */
    datakey_master_set(NULL);
    assert_false(datakey_enabled());
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &out, wrapped), 0);
    assert_int_equal(datakey_open(plain, len, NULL, 0, &out), 0);
    free(plain);
    /* no personal field set */
    datakey_master_set(master_a);
    Carebus__V1__TicketSolved body = CAREBUS__V1__TICKET_SOLVED__INIT;
    body.reason = "done";
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.event_id = EVENT_ID;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_TICKET_SOLVED;
    ev.ticket_solved = &body;
    plain = event_pack(&ev, &len);
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &out, wrapped), 0);
    assert_int_equal(datakey_open(plain, len, NULL, 0, &out), 0);
    /* garbage */
    assert_int_equal(datakey_seal((const uint8_t *)"\xff\xff", 2, EVENT_ID, &out, wrapped), -1);
    assert_int_equal(datakey_open((const uint8_t *)"\xff" DATAKEY_PREFIX, 8, NULL, 0, &out), -1);
    buf_release(&out);
    free(plain);
}

static void test_map_values_and_oneof(void **state)
{
    (void)state;
    datakey_master_set(master_a);
    Carebus__V1__CustomerProfileUpdated__AttributesEntry e1 =
        CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__ATTRIBUTES_ENTRY__INIT;
    e1.key = "address";
    e1.value = "12 Lê Lợi, Quận 1";
    Carebus__V1__CustomerProfileUpdated__AttributesEntry *es[] = {&e1};
    Carebus__V1__CustomerProfileUpdated body = CAREBUS__V1__CUSTOMER_PROFILE_UPDATED__INIT;
    body.name = "Trần Văn Nam";
    body.n_attributes = 1;
    body.attributes = es;
    event ev = CAREBUS__V1__ENVELOPE__INIT;
    ev.event_id = EVENT_ID;
    ev.body_case = CAREBUS__V1__ENVELOPE__BODY_CUSTOMER_PROFILE_UPDATED;
    ev.customer_profile_updated = &body;
    size_t len;
    uint8_t *plain = event_pack(&ev, &len);
    buf sealed = BUF_INIT, opened = BUF_INIT;
    uint8_t wrapped[DATAKEY_WRAPPED_LEN];
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &sealed, wrapped), 1);
    assert_null(memmem(sealed.data, sealed.len, "Lợi", strlen("Lợi")));
    assert_null(memmem(sealed.data, sealed.len, "Nam", 3));
    assert_non_null(memmem(sealed.data, sealed.len, "address", 7));
    assert_int_equal(
        datakey_open((const uint8_t *)sealed.data, sealed.len, wrapped, sizeof wrapped, &opened),
        1);
    assert_int_equal(opened.len, len);
    assert_memory_equal(opened.data, plain, len);
    buf_release(&sealed);
    buf_release(&opened);
    free(plain);
}

/* A key ring {current B, old A}: events sealed under A open, new ones are
 * wrapped by B; a rewrap moves A's keys to B, after which B alone opens
 * them, and a second rewrap is a no-op. */
static void test_ring_opens_old_and_rewraps(void **state)
{
    (void)state;
    static const uint8_t master_c[DATAKEY_LEN] = {7, 7, 7};
    size_t len;
    uint8_t *plain = contact(&len);
    buf sealed_a = BUF_INIT, sealed_b = BUF_INIT, opened = BUF_INIT;
    uint8_t wa[DATAKEY_WRAPPED_LEN], wb[DATAKEY_WRAPPED_LEN], moved[DATAKEY_WRAPPED_LEN];
    uint8_t id_a[DATAKEY_MASTER_ID_LEN], id_b[DATAKEY_MASTER_ID_LEN];
    datakey_master_id(master_a, id_a);
    datakey_master_id(master_b, id_b);
    assert_memory_not_equal(id_a, id_b, sizeof id_a);

    datakey_master_set(master_a);
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &sealed_a, wa), 1);
    assert_memory_equal(wa + 1, id_a, sizeof id_a);

    datakey_master_set(master_b);
    assert_int_equal(datakey_master_add_old(master_a), 0);
    assert_int_equal(datakey_master_add_old(master_a), 0); /* named twice: once */
    assert_int_equal(datakey_master_add_old(master_b), 0); /* the current one */
    assert_int_equal(datakey_seal(plain, len, EVENT_ID, &sealed_b, wb), 1);
    assert_memory_equal(wb + 1, id_b, sizeof id_b);
    assert_int_equal(
        datakey_open((const uint8_t *)sealed_a.data, sealed_a.len, wa, sizeof wa, &opened), 1);
    assert_memory_equal(opened.data, plain, len);
    assert_int_equal(
        datakey_open((const uint8_t *)sealed_b.data, sealed_b.len, wb, sizeof wb, &opened), 1);
    assert_memory_equal(opened.data, plain, len);

    /* rewrap: A's to B, B's left alone; another event's id does not unwrap */
    assert_int_equal(datakey_rewrap(EVENT_ID, wb, sizeof wb, moved), 0);
    assert_int_equal(datakey_rewrap("another-event", wa, sizeof wa, moved), -1);
    assert_int_equal(datakey_rewrap(EVENT_ID, wa, sizeof wa - 1, moved), -1);
    assert_int_equal(datakey_rewrap(EVENT_ID, wa, sizeof wa, moved), 1);
    assert_memory_equal(moved + 1, id_b, sizeof id_b);
    assert_int_equal(datakey_rewrap(EVENT_ID, moved, sizeof moved, wa), 0);

    /* B alone: the moved key opens, A's original does not */
    datakey_master_set(master_b);
    assert_int_equal(
        datakey_open((const uint8_t *)sealed_a.data, sealed_a.len, moved, sizeof moved, &opened),
        1);
    assert_memory_equal(opened.data, plain, len);
    assert_int_equal(
        datakey_open((const uint8_t *)sealed_a.data, sealed_a.len, wa, sizeof wa, &opened), -1);
    /* a key of the ring that is not the one named does not open it either */
    datakey_master_set(master_c);
    assert_int_equal(datakey_master_add_old(master_a), 0);
    assert_int_equal(datakey_rewrap(EVENT_ID, moved, sizeof moved, wa), -1);
    datakey_master_set(NULL);
    assert_int_equal(datakey_rewrap(EVENT_ID, moved, sizeof moved, wa), -1);
    buf_release(&sealed_a);
    buf_release(&sealed_b);
    buf_release(&opened);
    free(plain);
}

/* The ring holds the current key and DATAKEY_RING_MAX - 1 old ones. */
static void test_ring_is_bounded(void **state)
{
    (void)state;
    datakey_master_set(master_a);
    uint8_t k[DATAKEY_LEN] = {0};
    for (int i = 1; i < DATAKEY_RING_MAX; i++) {
        k[0] = (uint8_t)(100 + i);
        assert_int_equal(datakey_master_add_old(k), 0);
    }
    k[0] = 99;
    assert_int_equal(datakey_master_add_old(k), -1);
    datakey_master_set(NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_names_string_fields),
        cmocka_unit_test(test_seal_and_open),
        cmocka_unit_test(test_erased_key_reads_erased),
        cmocka_unit_test(test_wrong_key_fails),
        cmocka_unit_test(test_nothing_to_seal),
        cmocka_unit_test(test_map_values_and_oneof),
        cmocka_unit_test(test_ring_opens_old_and_rewraps),
        cmocka_unit_test(test_ring_is_bounded),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("datakey", tests, NULL, NULL);
}
