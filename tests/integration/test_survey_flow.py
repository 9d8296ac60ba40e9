"""Issue 6 (survey), end to end on the real binaries: a solved ticket gets a
survey, on the customer's channel and in their language; answers arrive by
the page and the API, each with its survey.answered event; a delayed survey
survives kill -9; reopen, cooldown and the closed trigger; a rebuild from
the log equals the live state.
"""

import json
import uuid

import carebus_harness as h
from courier_support import start_courier
from test_survey_support import (Browserless, answered_events, answers, api_answer,
                                 append_router, open_ticket, requested_events, set_status,
                                 solve_ticket, start, survey_row, token_of, wait_requested)


def ticket_json(st, ticket_id):
    r = st.get_api(f"/v1/tickets/{ticket_id}")
    assert r.status == 200, r
    return r.json()


def test_solved_ticket_survey_answered_through_the_api(stack, pb2):
    st = start(stack)
    ticket, customer = open_ticket(st, 1, "Đơn hàng của tôi bị giao chậm, xin kiểm tra giúp",
                                   channel="zalo")
    solved = solve_ticket(st, pb2, ticket)
    s = wait_requested(st, ticket)
    assert s["status"] == "requested"
    assert s["customer_id"] == customer
    assert s["language"] == "vi"
    assert (s["channel"], s["handle"]) == ("zalo", "zalo-uid-00001")
    assert s["link"].startswith(st["survey"].url + "/s/")
    assert s["link"] in s["text"] and s["text"].startswith("Cảm ơn")

    # survey.requested: once, caused by the solve, carrying what to send.
    rows = st.db.query("SELECT payload, ticket_id::text, customer_id::text FROM eventlog.events "
                       "WHERE stream = 'survey' AND type = 'survey.requested'")
    assert len(rows) == 1
    env = pb2.Envelope.FromString(bytes(rows[0][0]))
    assert (rows[0][1], rows[0][2]) == (ticket, customer)
    assert env.causation_id == solved
    r = env.survey_requested
    assert r.survey_id == s["id"] and r.link == s["link"] and r.text == s["text"]
    assert r.channel == pb2.CHANNEL_ZALO and r.handle == "zalo-uid-00001"
    assert r.language == "vi" and r.HasField("expires_at")

    t = ticket_json(st, ticket)
    assert t["survey"]["status"] == "requested"
    assert t["survey"]["link"] == s["link"]
    assert t["survey"]["csat"] is None

    a = api_answer(st, token_of(s["link"]), {"csat": 4, "ces": 7, "comment": "  Nhanh gọn 👍 "})
    assert a.status == 201, a
    assert a.json()["status"] == "answered"
    assert answers(st) == [(s["id"], 4, 7, "Nhanh gọn 👍")]
    t = ticket_json(st, ticket)["survey"]
    assert (t["status"], t["csat"], t["ces"], t["comment"]) == ("answered", 4, 7, "Nhanh gọn 👍")

    rows = st.db.query("SELECT payload, ticket_id::text FROM eventlog.events "
                       "WHERE stream = 'survey' AND type = 'survey.answered'")
    assert len(rows) == 1 and rows[0][1] == ticket
    ev = pb2.Envelope.FromString(bytes(rows[0][0])).survey_answered
    assert ev.survey_id == s["id"] and ev.csat.value == 4 and ev.ces.value == 7
    assert ev.comment == "Nhanh gọn 👍"
    # The consumer applied its own events (the path a rebuild takes): no change.
    st.wait_caught_up("survey", "survey", at_least=2)
    assert answers(st) == [(s["id"], 4, 7, "Nhanh gọn 👍")]


def test_english_contact_is_asked_in_english_on_its_channel(stack, pb2):
    st = start(stack)
    ticket, _ = open_ticket(st, 2, "Hello, my order has not arrived yet, please help",
                            channel="email")
    solve_ticket(st, pb2, ticket)
    s = wait_requested(st, ticket)
    assert s["language"] == "en"
    assert s["text"].startswith("Thank you") and s["link"] in s["text"]
    assert (s["channel"], s["handle"]) == ("email", "khach0002@example.vn")
    # A phone contact is answered by SMS on the customer's number.
    ticket2, _ = open_ticket(st, 3, "Sản phẩm bị lỗi, tôi muốn đổi trả", channel="phone")
    solve_ticket(st, pb2, ticket2)
    s2 = wait_requested(st, ticket2)
    assert (s2["channel"], s2["handle"], s2["language"]) == ("sms", "+84900000003", "vi")


def test_page_in_both_languages_and_answer_by_form(stack, pb2):
    st = start(stack)
    ticket, _ = open_ticket(st, 4)
    solve_ticket(st, pb2, ticket)
    s = wait_requested(st, ticket)
    b = Browserless(st, s["link"])
    r = b.get()
    assert r.status == 200
    html = r.body.decode()
    assert '<html lang="vi">' in html and "Gửi đánh giá" in html
    assert html.count('type="radio" id="csat-') == 5 and html.count('id="ces-') == 7
    assert "<fieldset" in html and "<legend>" in html and '<label class="field" for="comment">' in html
    assert "<script" not in html and "http://" not in html.replace(st["survey"].url, "")
    assert "default-src 'none'" in r.header("content-security-policy")
    assert "SameSite=Strict" in r.header("set-cookie") and "HttpOnly" in r.header("set-cookie")
    en = b.get("?lang=en").body.decode()
    assert '<html lang="en">' in en and "Send my answers" in en
    by_header = h.http_request(st["survey"].url + b.path, "GET",
                               headers={"Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"})
    assert '<html lang="en">' in by_header.body.decode()

    # A form without a score is shown again, with the error and the comment kept.
    r = b.post({"csat": "5", "comment": "Giữ lại nhé", "lang": "vi"})
    assert r.status == 400
    assert 'role="alert"' in r.body.decode() and "Giữ lại nhé" in r.body.decode()
    assert answers(st) == []

    r = b.post({"csat": "5", "ces": "6", "comment": "Rất tốt", "lang": "vi"})
    assert r.status == 200, r
    assert "Cảm ơn anh/chị!" in r.body.decode()
    assert answers(st) == [(s["id"], 5, 6, "Rất tốt")]
    assert answered_events(st) == 1
    assert ticket_json(st, ticket)["survey"]["status"] == "answered"


def test_delayed_survey_survives_kill9_and_is_requested_once(stack, pb2):
    st = start(stack, CAREBUS_SURVEY_DELAY_S=3)
    ticket, _ = open_ticket(st, 5)
    solve_ticket(st, pb2, ticket)
    h.wait_until("survey scheduled", lambda: survey_row(st, ticket), h.scaled(10))
    assert survey_row(st, ticket)["status"] == "scheduled"
    assert ticket_json(st, ticket)["survey"]["status"] == "scheduled"
    st["survey"].kill9()
    assert requested_events(st) == 0
    st["survey"].start(extra_env={"CAREBUS_SURVEY_SECRET": "test-survey-secret-0123456789abcdef",
                                  "CAREBUS_SURVEY_URL": st["survey"].url,
                                  "CAREBUS_SURVEY_DELAY_S": "3"})
    s = wait_requested(st, ticket, timeout=h.scaled(15))
    assert s["status"] == "requested"
    st["survey"].stop()
    st["survey"].start(extra_env={"CAREBUS_SURVEY_SECRET": "test-survey-secret-0123456789abcdef",
                                  "CAREBUS_SURVEY_URL": st["survey"].url})
    st.wait_caught_up("survey", "survey", at_least=1)
    assert requested_events(st, ticket) == 1


def test_reopen_before_the_delay_cancels_and_the_next_solve_asks(stack, pb2):
    st = start(stack, CAREBUS_SURVEY_DELAY_S=2)
    ticket, customer = open_ticket(st, 6)
    solve_ticket(st, pb2, ticket)
    h.wait_until("survey scheduled", lambda: survey_row(st, ticket), h.scaled(10))
    append_router(st, pb2, "ticket.reopened", ticket, customer)
    h.wait_until("scheduled survey cancelled", lambda: survey_row(st, ticket) is None,
                 h.scaled(10))
    append_router(st, pb2, "ticket.solved", ticket, customer, reason="again")
    s = wait_requested(st, ticket, timeout=h.scaled(15))
    assert requested_events(st, ticket) == 1
    assert s["status"] == "requested"


def test_cooldown_and_closed_trigger(stack, pb2):
    st = start(stack, CAREBUS_SURVEY_COOLDOWN_DAYS=30, CAREBUS_SURVEY_TRIGGER="closed")
    t1, c1 = open_ticket(st, 7, channel="chat")
    solve_ticket(st, pb2, t1)
    st.wait_caught_up("survey", "router", at_least=1)
    assert survey_row(st, t1) is None, "trigger=closed: a solve alone asks nothing"
    set_status(st, pb2, t1, "closed", "ticket.closed")
    wait_requested(st, t1)
    # The same customer's next ticket, closed within the cooldown: no survey.
    t2 = str(uuid.uuid4())
    append_router(st, pb2, "ticket.closed", t2, c1)
    st.wait_caught_up("survey", "router", at_least=st.last_seq("router"))
    assert survey_row(st, t2) is None
    # Another customer is asked.
    t3 = str(uuid.uuid4())
    append_router(st, pb2, "ticket.closed", t3, str(uuid.uuid4()))
    wait_requested(st, t3)
    assert requested_events(st) == 2


def test_rebuild_from_the_log_equals_the_live_state(stack, pb2):
    st = start(stack)
    # The invitations' webhooks are courier's deliveries (to a receiver that
    # is not there: they stay open).
    start_courier(st, CAREBUS_OUTBOUND_WEBHOOK_URLS="http://127.0.0.1:9/none",
                  CAREBUS_OUTBOUND_WEBHOOK_SECRET="x" * 20, CAREBUS_COURIER_BACKOFF_MS=60000)
    tickets = [open_ticket(st, 20 + i)[0] for i in range(3)]
    for t in tickets:
        solve_ticket(st, pb2, t)
    rows = [wait_requested(st, t) for t in tickets]
    assert api_answer(st, token_of(rows[0]["link"]), {"csat": 2, "comment": "chậm"}).status == 201
    assert api_answer(st, token_of(rows[1]["link"]), {"ces": 3}).status == 201

    def state():
        return (st.db.query("SELECT id, ticket_id, customer_id, trigger_event_id, status, due_at, "
                            "expires_at, channel, handle, language, link, text, "
                            "requested_event_id, requested_at, answered_at FROM survey.surveys "
                            "ORDER BY id"),
                st.db.query("SELECT survey_id, csat, ces, comment, answered_at, event_id "
                            "FROM survey.answers ORDER BY survey_id"))

    def deliveries():
        return st.db.scalar("SELECT count(*) FROM courier.deliveries "
                            "WHERE event_type = 'survey.requested' AND kind = 'webhook'")

    st.wait_caught_up("survey", "survey", at_least=5)
    live = state()
    events = st.last_seq("survey")
    st.wait_caught_up("courier", "survey", at_least=events)
    assert deliveries() == 3
    st["survey"].stop()
    st.db.query("TRUNCATE survey.answers, survey.surveys")
    st.db.query("DELETE FROM eventlog.offsets WHERE consumer = 'survey'")
    st["survey"].start(extra_env={"CAREBUS_SURVEY_SECRET": "test-survey-secret-0123456789abcdef",
                                  "CAREBUS_SURVEY_URL": st["survey"].url})
    st.wait_caught_up("survey", "router")
    st.wait_caught_up("survey", "survey", at_least=events)
    h.wait_until("rebuilt state", lambda: state() == live, h.scaled(10),
                 on_timeout=lambda: f"{state()} != {live}")
    # Nothing was emitted or sent again.
    assert st.last_seq("survey") == events
    st.wait_caught_up("courier", "survey", at_least=events)
    assert deliveries() == 3
    assert json.dumps(ticket_json(st, tickets[0])["survey"]["csat"]) == "2"


def test_without_a_secret_one_is_generated_once_and_kept(stack, pb2):
    st = stack()
    for n in ("ingest", "router"):
        st[n].start()
    env = {"CAREBUS_SURVEY_URL": st["survey"].url}
    st["survey"].start(extra_env=env)
    assert "CAREBUS_SURVEY_SECRET is unset" in st["survey"].log_text()
    ticket, _ = open_ticket(st, 60)
    solve_ticket(st, pb2, ticket)
    s = wait_requested(st, ticket)
    secret = st.db.scalar("SELECT value FROM survey.settings WHERE name = 'secret'")
    assert secret and len(secret) == 64 and secret not in st["survey"].log_text()
    # A restart reads the same secret: links sent before still open.
    st["survey"].stop()
    st["survey"].start(extra_env=env)
    assert h.http_request(s["link"]).status == 200
    assert st.db.scalar("SELECT count(*) FROM survey.settings") == 1
    # Links signed with another secret are refused.
    st["survey"].stop()
    st["survey"].start(extra_env=dict(env, CAREBUS_SURVEY_SECRET="a-different-secret-0123456789"))
    assert h.http_request(s["link"]).status == 404
    m = h.http_request(st["survey"].url + "/metrics").body.decode()
    assert 'carebus_survey_rejected_total{reason="forged"} 1' in m
