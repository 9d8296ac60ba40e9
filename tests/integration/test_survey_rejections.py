"""Issue 6 acceptance: every rejected answer changes nothing.

Reused (a second answer), expired (by the link's own expiry and by the
database's), forged (tampered, signed with another secret, malformed) and
unknown links, out-of-range or malformed scores, and cross-site form posts:
each gets a clear 4xx (a page in the visitor's language, or a JSON error
naming the field) and leaves no answer and no survey.answered event.
"""

import base64
import hashlib
import hmac
import struct
import time
import uuid

import carebus_harness as h
from test_survey_support import (SECRET, Browserless, answered_events, answers, api_answer,
                                 open_ticket, solve_ticket, start, token_of, wait_requested)


def make_token(secret, survey_id, exp_s):
    """The link token format of services/survey/token.h, independently."""
    key = hmac.new(secret.encode(), b"carebus survey link v1", hashlib.sha256).digest()
    body = b"\x01" + uuid.UUID(survey_id).bytes + struct.pack(">Q", exp_s)
    mac = hmac.new(key, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def nothing_stored(st, before=()):
    assert answers(st) == list(before)
    assert answered_events(st) == len(before)


def requested(st, n):
    ticket, _ = open_ticket(st, n)
    solve_ticket(st, st.pb2, ticket)
    return wait_requested(st, ticket)


def test_link_token_format_is_what_the_service_signs(stack, pb2):
    st = start(stack)
    st.pb2 = pb2
    s = requested(st, 40)
    exp = int(st.db.scalar("SELECT floor(extract(epoch FROM expires_at))::bigint FROM survey.surveys "
                           "WHERE id = %s", (s["id"],)))
    assert token_of(s["link"]) == make_token(SECRET, s["id"], exp)


def test_reused_answer_is_refused(stack, pb2):
    st = start(stack)
    st.pb2 = pb2
    s = requested(st, 41)
    token = token_of(s["link"])
    b = Browserless(st, s["link"])
    assert b.get("?lang=en").status == 200
    r = b.post({"csat": "5", "ces": "6", "comment": "first", "lang": "en"})
    assert r.status == 200 and "Thank you!" in r.body.decode()
    first = [(s["id"], 5, 6, "first")]
    nothing_stored(st, first)

    # The same form again (a double click, the back button): 409, in English.
    r = b.post({"csat": "1", "ces": "1", "comment": "second", "lang": "en"})
    assert r.status == 409
    assert "already answered" in r.body.decode()
    # The page itself now says so, in Vietnamese by default.
    r = b.get()
    assert r.status == 409 and "Anh/chị đã trả lời khảo sát này" in r.body.decode()
    # And the API.
    r = api_answer(st, token, {"csat": 2, "ces": 2})
    assert r.status == 409 and r.json()["error"]["code"] == "already_answered"
    nothing_stored(st, first)


def test_expired_links_are_refused(stack, pb2):
    st = start(stack, CAREBUS_SURVEY_TTL_S=1)
    st.pb2 = pb2
    s = requested(st, 42)
    token = token_of(s["link"])
    ticket = st.db.scalar("SELECT ticket_id::text FROM survey.surveys")
    # Expired for the database (and so for the link, whose expiry is the
    # same instant rounded down to the second).
    h.wait_until("survey expired",
                 lambda: st.get_api(f"/v1/tickets/{ticket}").json()["survey"]["status"] == "expired",
                 h.scaled(10))
    assert h.http_request(s["link"]).status == 410
    r = h.http_request(s["link"] + "?lang=en")
    assert r.status == 410 and "This survey has closed" in r.body.decode()
    assert api_answer(st, token, {"csat": 5, "ces": 5}).status == 410
    b = Browserless(st, s["link"])
    b.cookie, b.csrf = "cb_csrf=" + "A" * 22, "B" * 22
    r = b.post({"csat": "5", "ces": "5", "lang": "vi"})
    assert r.status == 410 and "Khảo sát đã hết hạn" in r.body.decode()
    nothing_stored(st)


def test_expired_in_the_database_is_refused(stack, pb2):
    st = start(stack)
    st.pb2 = pb2
    s = requested(st, 43)
    # The link is still valid; the database says the survey has expired.
    st.db.query("UPDATE survey.surveys SET expires_at = now() - interval '1 second'")
    r = api_answer(st, token_of(s["link"]), {"csat": 5})
    assert r.status == 410 and r.json()["error"]["code"] == "expired"
    assert h.http_request(s["link"]).status == 410
    nothing_stored(st)


def test_forged_and_unknown_links_are_refused(stack, pb2):
    st = start(stack)
    st.pb2 = pb2
    s = requested(st, 44)
    token = token_of(s["link"])
    exp = int(time.time()) + 3600
    tampered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    other_secret = make_token("another-secret-of-enough-length", s["id"], exp)
    longer_life = make_token(SECRET, s["id"], exp + 10**6)[:40] + token[40:]
    unknown = make_token(SECRET, str(uuid.uuid4()), exp)  # genuine format, no such survey
    for bad in (tampered, other_secret, longer_life, "abc", token + "A", unknown):
        r = h.http_request(f"{st['survey'].url}/s/{bad}")
        assert r.status == 404, (bad, r)
        assert "Liên kết không hợp lệ" in r.body.decode()
        r = h.http_request(f"{st['survey'].url}/s/{bad}?lang=en")
        assert r.status == 404 and "This link is not valid" in r.body.decode()
        r = api_answer(st, bad, {"csat": 5, "ces": 7})
        assert r.status == 404 and r.json()["error"]["code"] == "not_found", (bad, r)
    nothing_stored(st)
    # The genuine link still works afterwards.
    assert api_answer(st, token, {"csat": 3}).status == 201


def test_out_of_range_and_malformed_answers_name_the_field(stack, pb2):
    st = start(stack)
    st.pb2 = pb2
    s = requested(st, 45)
    token = token_of(s["link"])
    cases = [
        ({"csat": 6, "ces": 5}, "csat"),
        ({"csat": 0, "ces": 5}, "csat"),
        ({"csat": 5, "ces": 8}, "ces"),
        ({"csat": 5, "ces": 0}, "ces"),
        ({"csat": -1}, "csat"),
        ({"csat": "5", "ces": 5}, "csat"),
        ({"csat": 4.5}, "csat"),
        ({"csat": True}, "csat"),
        ({}, "csat"),
        ({"comment": "chỉ góp ý"}, "csat"),
        ({"csat": 5, "comment": 12}, "comment"),
        ({"csat": 5, "comment": "x" * 2001}, "comment"),
        ({"csat": 5, "comment": "bell \u0007"}, "comment"),
    ]
    for body, field in cases:
        r = api_answer(st, token, body)
        assert r.status == 400, (body, r)
        err = r.json()["error"]
        assert err["field"] == field, (body, err)
        assert field in err["message"] or field == "csat", err
    for raw in ('{"csat": 5', "[5, 6]", '{"csat": 5, "csat": 4}'):
        r = api_answer(st, token, raw)
        assert r.status == 400, (raw, r)
    assert api_answer(st, token, {"csat": 5}, content_type="text/plain").status == 415

    # The form: a score out of range is shown again as an error (400).
    b = Browserless(st, s["link"])
    b.get()
    for fields in ([("csat", "6"), ("ces", "5")], [("csat", "5"), ("ces", "9")],
                   [("csat", "05"), ("ces", "5")], [("csat", "5"), ("ces", "5"), ("comment", "a\x00b")],
                   [("csat", "5"), ("csat", "4"), ("ces", "5")], [("ces", "5")]):
        r = b.post(fields + [("lang", "vi")])
        assert r.status == 400, (fields, r)
        assert 'role="alert"' in r.body.decode()
    nothing_stored(st)
    # 2,000 characters exactly is fine.
    assert api_answer(st, token, {"csat": 5, "comment": "ư" * 2000}).status == 201


def test_cross_site_form_posts_are_refused(stack, pb2):
    st = start(stack)
    st.pb2 = pb2
    s = requested(st, 46)
    other = requested(st, 47)
    b = Browserless(st, s["link"])
    assert b.get().status == 200
    answer = {"csat": "1", "ces": "1", "comment": "forged", "lang": "en"}
    # No cookie (a cross-site post does not carry a SameSite=Strict cookie).
    r = b.post(answer, cookie=False)
    assert r.status == 403 and "This form has expired" in r.body.decode()
    # No CSRF field, or a made-up one.
    assert b.post(answer, csrf=False).status == 403
    assert b.post(dict(answer, csrf="A" * 22)).status == 403
    # Another site's origin, an opaque origin, or another site as Referer.
    assert b.post(answer, origin="https://evil.example").status == 403
    assert b.post(answer, origin="null").status == 403
    assert b.post(answer, origin=False,
                  headers={"Referer": "https://evil.example/page"}).status == 403
    # A field and cookie pair from another survey's form.
    o = Browserless(st, other["link"])
    o.get()
    b2 = Browserless(st, s["link"])
    b2.cookie, b2.csrf = o.cookie, o.csrf
    assert b2.post(answer).status == 403
    # Not a form post at all.
    r = h.http_request(st["survey"].url + b.path, "POST", '{"csat":1}',
                       {"Content-Type": "application/json", "Cookie": b.cookie})
    assert r.status == 415
    nothing_stored(st)
    # The same client, same-site and with its cookie, is accepted (also
    # without Origin and Referer, as some privacy settings send).
    r = b.post(dict(answer, comment="ok"), origin=False)
    assert r.status == 200, r
    nothing_stored(st, [(s["id"], 1, 1, "ok")])
