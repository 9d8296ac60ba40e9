"""Free text in bi is masked (issue 16): phone numbers in their Vietnamese
spellings, emails and long digit runs become [phone], [email] and [number]
in bi.surveys.comment and bi.messages' subject and text, by
bi.mask_personal (migration 0055_bi_masking.sql); Vietnamese text around
them is left exactly as written. bi_reader cannot read the texts as
written; a role an operator granted bi_reader_unmasked reads them in
bi_unmasked, beside everything bi_reader reads.

Real PostgreSQL (the session cluster, which trusts local connections: the
roles' rights are checked here, their passwords in test_analytics_bi.py),
real services for the flow: a contact through ingest and the router, a
survey answered through the survey service, analytics reading both.
"""

import unicodedata
import uuid

import psycopg2
import pytest

import carebus_harness as h
from test_survey_support import (api_answer, open_ticket, solve_ticket, start, token_of,
                                 wait_requested)

PHONE, EMAIL, NUMBER = "[phone]", "[email]", "[number]"

# (text, masked): every spelling of a Vietnamese phone number the issue names
# and more, in the middle of Vietnamese sentences.
CASES = [
    ("Gọi tôi 0912 345 678 nhé", f"Gọi tôi {PHONE} nhé"),
    ("SĐT 0912.345.678", f"SĐT {PHONE}"),
    ("SĐT 0912-345-678.", f"SĐT {PHONE}."),
    ("sđt:0912345678, cảm ơn", f"sđt:{PHONE}, cảm ơn"),
    ("+84 912 345 678", PHONE),
    ("+84912345678", PHONE),
    ("(+84) 912 345 678", PHONE),
    ("84-912-345-678 là số Zalo", f"{PHONE} là số Zalo"),
    ("84912345678", PHONE),
    ("Văn phòng (028) 3822 1234", f"Văn phòng {PHONE}"),
    ("Văn phòng 028 3822 1234", f"Văn phòng {PHONE}"),
    ("028.3822.1234", PHONE),
    ("(08) 3822 1234", PHONE),
    ("Đà Nẵng (0236) 382 1234", f"Đà Nẵng {PHONE}"),
    ("+84 28 3822 1234", PHONE),
    ("0912\u00a0345\u00a0678", PHONE),  # no-break spaces, as phones paste them
    # Emails, before their digits could be taken for numbers.
    ("Email: lan.nguyen+cskh@example.com.vn.", f"Email: {EMAIL}."),
    ("Gửi về NGUYEN.Van.A1975@Gmail.COM giúp", f"Gửi về {EMAIL} giúp"),
    # Long digit runs: accounts, ID cards, order numbers, large amounts.
    ("STK 0071 0001 23456 Vietcombank", f"STK {NUMBER} Vietcombank"),
    ("CCCD 001203004567", f"CCCD {NUMBER}"),
    ("Mã đơn DH12345678", f"Mã đơn DH{NUMBER}"),
    ("Thẻ 4111-1111-1111-1111", f"Thẻ {NUMBER}"),
    ("Tôi đã chuyển 1.500.000 đồng", f"Tôi đã chuyển {NUMBER} đồng"),
    ("số 0912 345 678 9999", f"số {NUMBER}"),  # a phone that runs on is an account
    # Several in one text.
    ("Anh Hùng 0903 123 456, chị Lan lan@shop.vn, đơn 98765432",
     f"Anh Hùng {PHONE}, chị Lan {EMAIL}, đơn {NUMBER}"),
]

# Text without personal data comes back exactly as written: diacritics (in
# both Unicode normal forms), dates, times, short numbers, emoji.
UNTOUCHED = [
    "Sản phẩm bị lỗi, tôi muốn đổi trả. Cảm ơn nhân viên Hùng rất nhiệt tình!",
    "Nguyễn Thị Ánh Tuyết, Đường Lê Lợi, Quận 1 — giao hàng ngày 12/03/2024 lúc 09:30",
    unicodedata.normalize("NFD", "Tiếng Việt có dấu: ă â đ ê ô ơ ư ỳ ỹ ộ ữ"),
    "Đơn 123456 gồm 3 sản phẩm, năm 2024, tầng 12 👍",
    "Thanh toán 150.000đ, mã 12-34",
    "",
]


def mask(st, text):
    return st.db.scalar("SELECT bi.mask_personal(%s)", (text,))


def test_every_spelling_is_masked_and_the_rest_untouched(stack):
    st = stack("analytics")
    for text, want in CASES:
        assert mask(st, text) == want, text
    for text in UNTOUCHED:
        assert mask(st, text) == text, text
    assert mask(st, None) is None


def connect_as(st, role):
    c = psycopg2.connect(host="127.0.0.1", port=st.cluster.port, dbname=st.dbname, user=role,
                         connect_timeout=10)
    c.autocommit = True
    return c


def rows(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_bi_shows_masked_text_and_only_the_granted_role_reads_it_unmasked(stack, pb2):
    st = start(stack)
    st["analytics"].start()
    h.wait_until("bi_reader_unmasked", lambda: st.db.scalar(
        "SELECT count(*) FROM pg_roles WHERE rolname IN ('bi_reader', 'bi_reader_unmasked')") == 2
        and "bi_reader ready" in st["analytics"].log_text(), h.scaled(30))

    said = "Tôi cần hỗ trợ, gọi 0912 345 678 hoặc email lan.nguyen@example.vn"
    ticket, customer = open_ticket(st, 16, said)
    solve_ticket(st, pb2, ticket)
    s = wait_requested(st, ticket)
    comment = "Rất hài lòng! Anh Hùng gọi lại số (028) 3822 1234, STK 0071 0001 23456"
    assert api_answer(st, token_of(s["link"]), {"csat": 5, "ces": 6, "comment": comment}).status \
        == 201
    h.wait_until("analytics to record the answer", lambda: st.db.scalar(
        "SELECT comment FROM analytics.surveys WHERE ticket_id = %s", (ticket,)) == comment,
        h.scaled(30))
    message = st.db.scalar("SELECT event_id::text FROM router.messages WHERE ticket_id = %s "
                           "AND direction = 'in'", (ticket,))

    masked_said = f"Tôi cần hỗ trợ, gọi {PHONE} hoặc email {EMAIL}"
    masked_comment = f"Rất hài lòng! Anh Hùng gọi lại số {PHONE}, STK {NUMBER}"
    operator = f"bi_alice_{uuid.uuid4().hex[:8]}"
    reader = connect_as(st, "bi_reader")
    try:
        # bi_reader: the masked text, whole views, nothing of bi_unmasked.
        assert rows(reader, "SELECT text, subject, text_length FROM bi.messages "
                            "WHERE message_id = %s", (message,)) == [(masked_said, None, len(said))]
        assert rows(reader, "SELECT comment, csat FROM bi.surveys WHERE ticket_id = %s",
                    (ticket,)) == [(masked_comment, 5)]
        assert len(rows(reader, "SELECT * FROM bi.surveys")) == 1
        assert rows(reader, "SELECT has_schema_privilege('bi_unmasked', 'USAGE'), "
                            "pg_has_role('bi_reader_unmasked', 'MEMBER')") == [(False, False)]
        for view in ("surveys", "messages"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                rows(reader, f"SELECT * FROM bi_unmasked.{view}")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            rows(reader, "GRANT bi_reader_unmasked TO bi_reader")
        assert said not in str(rows(reader, "SELECT * FROM bi.messages"))

        # An operator grants the role to a login role of theirs: it reads the
        # texts as written, joined to bi by id, and still nothing underneath.
        st.db.query(f"CREATE ROLE {operator} LOGIN")
        st.db.query(f"GRANT bi_reader_unmasked TO {operator}")
        alice = connect_as(st, operator)
        try:
            assert rows(alice, "SELECT u.comment, s.comment FROM bi.surveys s "
                               "JOIN bi_unmasked.surveys u USING (survey_id)") == [
                (comment, masked_comment)]
            assert rows(alice, "SELECT u.text, m.text FROM bi.messages m "
                               "JOIN bi_unmasked.messages u USING (message_id) "
                               "WHERE message_id = %s", (message,)) == [(said, masked_said)]
            for table in ("analytics.surveys", "router.messages"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    rows(alice, f"SELECT 1 FROM {table} LIMIT 1")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                rows(alice, "CREATE VIEW bi_unmasked.mine AS SELECT 1")
        finally:
            alice.close()
    finally:
        reader.close()
        if st.db.scalar("SELECT count(*) FROM pg_roles WHERE rolname = %s", (operator,)):
            st.db.query(f"DROP OWNED BY {operator}")
            st.db.query(f"DROP ROLE {operator}")


def test_bi_unmasked_is_documented(stack):
    st = stack("analytics")
    missing = st.db.query(
        "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = 'bi_unmasked' AND col_description(c.oid, a.attnum) IS NULL")
    assert missing == []
    views = dict(st.db.query(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bi_unmasked'"))
    assert set(views) == {"surveys", "messages"} and all(len(d) > 20 for d in views.values())
    assert len(st.db.scalar("SELECT obj_description('bi.mask_personal(text)'::regprocedure, "
                            "'pg_proc')")) > 20
