"""Personal data in the event log: sealed with a key per event, readable
through the services, unreadable once its key is destroyed.

  a. with a master key, no stored payload holds a customer's name, phone,
     email, handle or text; each sealed event has its data key in
     privacy.datakeys; the feed, the router's tables and a ticket read them
     plain
  b. an event whose data key is deleted reads "[erased]" in its personal
     fields in the feed, its other fields unchanged; the router catching
     up from the log (a rebuild of its tables) reads the same
  c. a service started with another master key does not read sealed events
     as erased: it stops at them, and reads them once given its own
  d. without a master key the log stores the fields plain (the development
     default, with a warning in the log)
  e. erasure: a customer who wrote on three channels, was merged with
     another and answered a survey with her phone in the comment is erased
     (POST /v1/customers/{id}/erasure, reason required): no table or bi view
     of any service, no API answer and no stored event shows her name,
     phone, email, handles or texts; the KPIs are unchanged; the survey
     service, analytics and the router rebuilt from the log equal the live
     state (the router's erased contacts on the customers they were on)
  f. every service killed -9 around an erasure: it completes after the
     restarts, announced once
  g. export (GET /v1/customers/{id}/export, admin, reason required): one
     document with every identity, message and survey answer of the
     customer and the ones merged into it, and their events opened; each
     export is recorded first as customer.data_exported (who, when, why)
  h. retention (CAREBUS_RETENTION_S): a customer whose tickets are all
     closed beyond the period is erased by the same path, once; one with
     an open ticket is not
  i. the router rebuilt after an erasure: contacts that merged customers
     by their handles and were classified by their texts go on the same
     customers and tickets, merged and classified as live
  j. the same for a call whose caller is erased: on the same customer and
     ticket as live, not skipped
  k. attachments: the names, URLs and media ids of the files an erased
     customer sent, and of those replied and noted on their ticket, read
     "[erased]" in router.messages and on GET /v1/tickets/{id} (messages,
     timeline); their types and sizes stay; a reply's recipient reads
     "[erased]"; the rebuilt router equals the live one
"""

import json
import subprocess
from uuid import uuid4

import pytest

import carebus_harness as h
from test_event_feed import read_all

CUSTOMER = {"name": "Phạm Thị Hồng", "phone": "0912 345 678", "email": "hong.pham@example.vn"}
TEXT = "Giao hàng đến 25 Nguyễn Huệ, gọi 0912345678"
SECRETS = ("Hồng", "0912", "345678", "hong.pham", "zalo-88231", "Nguyễn Huệ")


def contacts(st):
    sent = [
        {"channel": "zalo", "external_id": "p-1", "text": TEXT,
         "customer": {**CUSTOMER, "handle": "zalo-88231"},
         "occurred_at": "2026-11-23T09:00:00+07:00"},
        {"channel": "email", "external_id": "p-2", "subject": "Đơn hàng", "text": TEXT,
         "customer": {"name": CUSTOMER["name"], "email": CUSTOMER["email"]},
         "occurred_at": "2026-11-23T09:05:00+07:00"},
    ]
    for m in sent:
        r = st.post_message(m)
        assert r.status in (200, 202), r
    st.wait_caught_up(at_least=2)


def stored_with(st, needle):
    return st.db.scalar("SELECT count(*) FROM eventlog.events"
                        " WHERE position(convert_to(%s, 'UTF8') IN payload) > 0", (needle,))


def delete(st, sql, params=None):
    return st.db.scalar(f"WITH d AS ({sql} RETURNING 1) SELECT count(*) FROM d", params)


def reset_router(st):
    """The router's tables and offsets wiped: it rebuilds them from the log."""
    st.db.query("DELETE FROM eventlog.offsets WHERE consumer = 'router'")
    st.db.query("TRUNCATE router.customers, router.identities, router.tickets,"
                " router.messages, router.notes, router.merges, router.position CASCADE")


def test_sealed_log_reads_plain(stack):
    st = stack("ingest", "router", master_key=True)
    contacts(st)
    for s in SECRETS:
        assert stored_with(st, s) == 0, f"{s!r} is readable in the log"
    sealed = st.db.scalar("SELECT count(*) FROM eventlog.events e"
                          " JOIN privacy.datakeys k USING (event_id)")
    assert sealed >= 2
    # events without personal fields set need no key
    assert st.db.scalar("SELECT count(*) FROM eventlog.events e JOIN privacy.datakeys k"
                        " USING (event_id) WHERE e.type = 'ticket.classified'") == 0
    # readers get them plain
    events, _ = read_all(st)
    text = json.dumps(events, ensure_ascii=False)
    assert TEXT in text and "zalo-88231" in text and CUSTOMER["email"] in text
    assert "cbenc1:" not in text
    assert st.db.scalar("SELECT count(*) FROM router.messages WHERE text = %s", (TEXT,)) == 2
    assert st.db.scalar("SELECT count(*) FROM router.identities WHERE value = 'zalo-88231'") == 1


def test_destroyed_key_reads_erased(stack):
    st = stack("ingest", "router", master_key=True)
    contacts(st)
    first = st.db.scalar("SELECT event_id::text FROM eventlog.events"
                         " WHERE type = 'contact.received' ORDER BY seq LIMIT 1")
    assert delete(st, "DELETE FROM privacy.datakeys WHERE event_id = %s", (first,)) == 1
    events, _ = read_all(st, types="contact.received")
    by_id = {e["event_id"]: e for e in events}
    text = json.dumps(by_id[first], ensure_ascii=False)
    assert "[erased]" in text
    for s in SECRETS:
        assert s not in text, s
    assert '"p-1"' in text  # not personal: the external id stays
    other = json.dumps([e for k, e in by_id.items() if k != first], ensure_ascii=False)
    assert TEXT in other
    # the router rebuilt from the log reads the same: the erased contact's
    # text is gone from its tables. Its handles are gone too: the rebuild
    # puts it on the customer and ticket its own earlier events name.
    placed = st.db.query("SELECT customer_id, ticket_id FROM router.messages WHERE event_id = %s",
                         (first,))
    st.stop("router")
    reset_router(st)
    st.start("router")
    st.wait_caught_up()
    assert st.db.query("SELECT customer_id, ticket_id FROM router.messages WHERE event_id = %s",
                       (first,)) == placed
    assert st.db.scalar("SELECT count(*) FROM router.messages WHERE text = %s", (TEXT,)) == 1
    assert st.db.scalar("SELECT count(*) FROM router.messages WHERE text = '[erased]'") == 1
    assert st.db.scalar("SELECT count(*) FROM router.identities WHERE value = 'zalo-88231'") == 0


def test_other_master_key_stops(stack, tmp_path):
    st = stack("ingest", "router", master_key=True)
    contacts(st)
    st.stop("router")
    # a router with another master key, catching up from the start, stops at
    # the first sealed event rather than reading it as erased
    other = tmp_path / "other.key"
    other.write_text("ab" * 32 + "\n")
    reset_router(st)
    st["router"].start(wait_ready=False, extra_env={"CAREBUS_MASTER_KEY_FILE": str(other)})
    h.wait_until("the router to refuse the sealed events",
                 lambda: "wrapped by another master key" in st["router"].all_logs(),
                 h.scaled(30))
    assert st.db.scalar("SELECT count(*) FROM router.messages") == 0
    assert st.router_offset() == 0
    st.stop("router")
    # with its own key it reads them
    st.start("router")
    st.wait_caught_up()
    assert st.db.scalar("SELECT count(*) FROM router.messages WHERE text = %s", (TEXT,)) == 2


def test_without_master_key_stored_plain(stack):
    st = stack("ingest", "router", master_key=False)
    contacts(st)
    assert stored_with(st, "zalo-88231") >= 1
    assert st.db.scalar("SELECT count(*) FROM privacy.datakeys") == 0
    assert "no CAREBUS_MASTER_KEY" in st["ingest"].all_logs()


# --- erasure ----------------------------------------------------------------------------

NAME = "Lê Thị Mai"
PHONE_LOCAL = "0987 654 321"
EMAIL = "mai.le@example.vn"
ZALO = "zalo-mai-xqzk"
FACEBOOK = "fb-mai-wvyu"
TEXTS = ("Đơn hàng 55 của tôi chưa tới", "Xin gửi lại hoá đơn cho tôi", "Tôi là Mai, nhắn qua fb")
COMMENT = "Gọi lại cho tôi số 0987.654.321 nhé"
# What must be gone. None is spelled with hex digits or base64 only, so that
# an id or a sealed field cannot hold one by chance.
TRACES = ("Lê Thị Mai", "987654321", "654 321", "654.321", "mai.le@", "mai-xqzk", "mai-wvyu",
          "Đơn hàng 55", "hoá đơn", "Gọi lại")


def erasure_stack(stack):
    from test_survey_support import survey_env
    st = stack(master_key=True)
    for n in ("ingest", "router", "sla", "courier", "analytics"):
        st[n].start(wait_ready=False)
    st["survey"].start(wait_ready=False, extra_env=survey_env(st))
    for n in ("ingest", "router", "sla", "courier", "analytics", "survey"):
        st[n].wait_ready()
    return st


def post(st, path, body, method="POST"):
    return h.http_request(f"{st.api_url}{path}", method, body, st.auth(), timeout=h.scaled(15))


def erase(st, customer, reason="asked"):
    """Erases the customer (202) and waits for the log's first customer.erased;
    the caller then waits for the consumers it reads."""
    r = post(st, f"/v1/customers/{customer}/erasure", {"reason": reason})
    assert r.status == 202, r
    h.wait_until("customer.erased", lambda: st.db.scalar(
        "SELECT count(*) FROM eventlog.events WHERE type = 'customer.erased'") == 1, h.scaled(20))


def customer_of(st, event_id):
    return h.wait_until(f"contact {event_id} routed", lambda: st.db.scalar(
        "SELECT coalesce(c.merged_into, c.id)::text FROM router.messages m"
        " JOIN router.customers c ON c.id = m.customer_id WHERE m.event_id = %s", (event_id,)),
        h.scaled(20))


def a_customer_on_three_channels(st, pb2):
    """Mai writes on zalo and by e-mail (one customer: the phone joins them),
    and on Facebook (a second customer, merged into the first by a
    supervisor); her ticket is solved and she answers the survey with her
    phone number in the comment. Returns (survivor, merged, ticket)."""
    from test_survey_support import api_answer, solve_ticket, token_of, wait_requested
    ids = []
    for i, (channel, cust) in enumerate((
            ("zalo", {"name": NAME, "phone": PHONE_LOCAL, "handle": ZALO}),
            ("email", {"name": NAME, "phone": PHONE_LOCAL, "email": EMAIL}),
            ("facebook", {"name": NAME, "handle": FACEBOOK}))):
        r = st.post_message({"channel": channel, "external_id": f"mai-{i}", "customer": cust,
                             "text": TEXTS[i], "occurred_at": f"2026-11-23T09:0{i}:00+07:00"})
        assert r.status == 202, r
        ids.append(r.json()["event_id"])
    survivor, merged = customer_of(st, ids[0]), customer_of(st, ids[2])
    assert customer_of(st, ids[1]) == survivor and merged != survivor
    r = post(st, f"/v1/customers/{survivor}/merge", {"merged_id": merged, "reason": "same person"})
    assert r.status == 202, r
    h.wait_until("the merge", lambda: customer_of(st, ids[2]) == survivor, h.scaled(20))
    ticket = st.db.scalar("SELECT ticket_id::text FROM router.messages WHERE event_id = %s",
                          (ids[0],))
    solve_ticket(st, pb2, ticket)
    s = wait_requested(st, ticket)
    assert api_answer(st, token_of(s["link"]), {"csat": 3, "comment": COMMENT}).status == 201
    return survivor, merged, ticket


def caught_up(st):
    """Until the stack is quiet: every consumer has applied every stream it
    reads, router and sla-monitor have nothing left to tell each other (an
    SLA target due fires a breach that analytics then counts), and no stream
    grew while it was waited for."""
    streams = ("ingest", "router", "survey", "sla", "courier")
    consumers = ("router", "survey", "analytics", "courier", "sla-monitor")

    def quiet():
        lasts = {s: st.last_seq(s) for s in streams}
        for stream in streams:
            for consumer in consumers:
                # A partitioned consumer's offsets are "<consumer>/<part>".
                if st.db.scalar("SELECT count(*) FROM eventlog.offsets WHERE stream = %s"
                                " AND (consumer = %s OR consumer LIKE %s || '/%%')",
                                (stream, consumer, consumer)):
                    st.wait_caught_up(consumer, stream, at_least=lasts[stream])
        return st.db.scalar(st.SETTLED_SQL) and lasts == {s: st.last_seq(s) for s in streams}

    h.wait_until("the stack to be quiet", quiet, h.scaled(60),
                 on_timeout=lambda: "\n" + st.log_summary())


PERSONAL_SCHEMAS = ("router", "survey", "analytics", "courier", "sla", "bi")


def everything(st):
    """Every row of every table and view of the services' schemas, as text."""
    rels = st.db.query("SELECT schemaname || '.' || relname FROM ("
                       " SELECT schemaname, tablename AS relname FROM pg_tables"
                       " UNION ALL SELECT schemaname, viewname FROM pg_views) r"
                       " WHERE schemaname = ANY (%s) ORDER BY 1", (list(PERSONAL_SCHEMAS),))
    out = {}
    for (rel,) in rels:
        out[rel] = "\n".join(r[0] for r in st.db.query(f"SELECT t::text FROM {rel} t ORDER BY 1"))
    return out


def traces(st, extra_text=""):
    found = []
    for rel, text in everything(st).items():
        for t in TRACES:
            if t in text:
                found.append(f"{rel}: {t!r}")
    for t in TRACES:
        if t in extra_text:
            found.append(f"API: {t!r}")
        if stored_with(st, t):
            found.append(f"eventlog.events: {t!r}")
    return found


def kpis(st):
    return (st.db.query("SELECT t::text FROM analytics.daily t ORDER BY 1"),
            st.db.query("SELECT count(*), count(*) FILTER (WHERE status = 'closed'),"
                        " min(created_at) FROM router.tickets"),
            st.db.query("SELECT csat, ces, answered_at FROM survey.answers ORDER BY 3"))


def test_erasure_leaves_no_trace_and_keeps_the_kpis(stack, pb2):
    st = erasure_stack(stack)
    survivor, merged, ticket = a_customer_on_three_channels(st, pb2)
    caught_up(st)
    assert traces(st), "the scenario left no personal data to erase"
    before = kpis(st)

    # the reason is required, the scope is admin, the customer must exist
    assert post(st, f"/v1/customers/{survivor}/erasure", {}).status == 400
    assert post(st, f"/v1/customers/{uuid4()}/erasure", {"reason": "r"}).status == 404
    erase(st, survivor, "the customer asked (Decree 13)")
    caught_up(st)
    erased = [e for e in read_all(st, types="customer.erased")[0]]
    assert len(erased) == 1
    body = erased[0]["body"]
    assert sorted(body["customer_ids"]) == sorted([survivor, merged])
    assert body["reason"] == "the customer asked (Decree 13)" and body["keys_destroyed"] >= 5

    api = "".join(json.dumps(x, ensure_ascii=False) for x in (
        st.get_api(f"/v1/customers/{survivor}").json(),
        st.get_api(f"/v1/tickets/{ticket}").json(),
        read_all(st)[0]))
    assert traces(st, api) == [], "\n".join(traces(st, api))
    assert "[erased]" in api
    assert kpis(st) == before

    # a rebuild from the log equals the live state, with nothing readable
    live_survey = everything(st)["survey.answers"], everything(st)["survey.surveys"]
    st.stop("survey")
    st.db.query("TRUNCATE survey.answers, survey.surveys")
    st.db.query("DELETE FROM eventlog.offsets WHERE consumer = 'survey'")
    from test_survey_support import survey_env
    st["survey"].start(extra_env=survey_env(st))
    st.wait_caught_up("survey", "router", at_least=st.last_seq("router"))
    st.wait_caught_up("survey", "survey", at_least=st.last_seq("survey"))
    assert (everything(st)["survey.answers"], everything(st)["survey.surveys"]) == live_survey
    live_analytics = {k: v for k, v in everything(st).items() if k.startswith("analytics.")}
    st.stop("analytics")
    p = subprocess.run([str(h.BIN_DIR / "carebus-analytics"), "--rebuild"],
                       env=st.env_for("analytics"), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=h.scaled(120))
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    rebuilt = {k: v for k, v in everything(st).items() if k.startswith("analytics.")}
    assert rebuilt == live_analytics
    assert traces(st) == []
    # the router too, though nothing of the erased contacts matches a
    # handle any more
    assert_router_rebuilds_as_live(st)
    assert traces(st) == []


def assert_router_rebuilds_as_live(st):
    """The router's tables wiped and rebuilt from the log equal the live
    ones, compared as test_router_replay compares them."""
    from test_router_replay import diff, snapshot
    if "sla" in st.services and st["sla"].running():
        st.wait_settled()
    live = snapshot(st)
    st.stop("router")
    st.db.query("SELECT router.reset()")
    assert st.db.scalar("SELECT count(*) FROM router.customers") == 0
    st["router"].start()
    for stream, seq in live["offsets"]:
        st.wait_caught_up("router", stream, at_least=seq)
    if st.last_seq("sla"):
        h.wait_until("sla events applied", lambda: st.db.scalar(
            "SELECT sla_seq FROM router.position") == st.last_seq("sla"), h.scaled(20))
    replayed = snapshot(st)
    assert replayed == live, "the rebuilt router differs:\n" + diff(live, replayed)


def test_router_rebuilt_after_erasure_keeps_merges_and_classification(stack):
    """Contacts whose handles merged two customers, an urgent word and a
    classifying phrase in their texts, another customer beside them: after
    the erasure nothing of the erased contacts reads, yet the rebuilt router
    puts them on the same customers and tickets, merged and classified as
    live (their earlier events say so), and the other customer is as it was."""
    st = stack("ingest", "router", master_key=True)
    sent = [
        ("zalo", {"name": NAME, "phone": PHONE_LOCAL, "handle": ZALO}, "cần gấp"),
        ("email", {"email": EMAIL}, "hoa don sai"),
        ("facebook", {"phone": PHONE_LOCAL, "email": EMAIL, "handle": FACEBOOK},
         "tôi muốn khiếu nại"),
        ("zalo", {"name": "Trần Văn Bình", "handle": "zalo-binh-qq"}, "bảo hành máy"),
    ]
    ids = []
    for i, (channel, cust, text) in enumerate(sent):
        r = st.post_message({"channel": channel, "external_id": f"mg-{i}", "customer": cust,
                             "text": text, "occurred_at": f"2026-11-23T10:0{i}:00+07:00"})
        assert r.status == 202, r
        ids.append(r.json()["event_id"])
    st.wait_caught_up(at_least=len(sent))
    survivor = customer_of(st, ids[0])
    assert customer_of(st, ids[1]) == customer_of(st, ids[2]) == survivor
    assert st.db.scalar("SELECT count(*) FROM router.merges m JOIN router.customers c"
                        " ON c.id = m.merged_id WHERE m.survivor_id = %s"
                        " AND m.contact_event_id = %s", (survivor, ids[2])) == 1
    other = customer_of(st, ids[3])
    assert other != survivor
    # the first ticket urgent, then classified by the third contact; the
    # second's classified by its own and merged into the first
    classified = st.db.query("SELECT category, urgent_word IS NOT NULL, merged_into IS NOT NULL"
                             " FROM router.tickets WHERE customer_id = %s ORDER BY created_at",
                             (survivor,))
    assert len(classified) == 2 and classified[0][0] != "other" and classified[0][1], classified
    assert classified[1][0] != "other" and classified[1][2], classified

    erase(st, survivor, "the customer asked")
    st.wait_caught_up(at_least=st.last_seq("ingest"))
    assert st.db.scalar("SELECT count(*) FROM router.messages WHERE text = '[erased]'") == 3
    assert_router_rebuilds_as_live(st)
    assert customer_of(st, ids[2]) == survivor and customer_of(st, ids[3]) == other
    assert st.db.scalar("SELECT count(*) FROM router.identities WHERE customer_id = %s",
                        (other,)) == 1


def test_router_rebuilt_after_erasure_keeps_calls(stack):
    """A call whose caller is erased (its data key destroyed) is recalled as
    an erased contact is: the rebuilt router puts it on the same customer
    and ticket as live, rather than skip it for a number it cannot read."""
    st = stack("ingest", "router", master_key=True)
    r = st.post_message({"channel": "zalo", "external_id": "call-0", "text": "alo",
                         "customer": {"name": NAME, "phone": PHONE_LOCAL, "handle": ZALO},
                         "occurred_at": "2026-11-23T10:00:00+07:00"})
    assert r.status == 202, r
    contact = r.json()["event_id"]
    r = post(st, "/v1/calls", {"caller": PHONE_LOCAL, "external_id": "pbx-mai-1",
                               "started_at": "2026-11-23T03:05:00Z",
                               "ended_at": "2026-11-23T03:07:00Z", "outcome": "answered",
                               "note": "Khách hỏi đơn hàng 55"})
    assert r.status == 202, r
    call = r.json()["event_id"]
    st.wait_caught_up(at_least=2)
    survivor = customer_of(st, contact)
    assert customer_of(st, call) == survivor
    erase(st, survivor, "the customer asked")
    st.wait_caught_up(at_least=st.last_seq("ingest"))
    assert st.db.scalar("SELECT count(*) FROM router.messages WHERE channel = 'phone'"
                        " AND text = '[erased]'") == 1
    assert_router_rebuilds_as_live(st)
    assert customer_of(st, call) == survivor


ATTACHED = [
    {"name": "hoa-don-mai-55.pdf", "type": "application/pdf", "size": 48213,
     "url": "https://files.example.vn/u/mai-xqzk/hoa-don.pdf"},
    {"name": "anh-mai-xqzk.jpg", "type": "image/jpeg", "size": 734001,
     "media_id": "zalo-att-mai-wvyu"},
    {"media_id": "wa-media-mai-xqzk"},
]


@pytest.mark.parametrize("replied", (False, True), ids=("contact_and_note", "and_reply"))
def test_erasure_redacts_attachments(stack, replied):
    """k; with a reply, whose recipient reads "[erased]" afterwards both live
    and rebuilt (the rebuilt router finds no handle to address it to)."""
    from test_ingest_api import call
    from test_lists import get
    st = stack("ingest", "router", master_key=True)
    r = st.post_message({"channel": "zalo", "external_id": "att-mai", "text": TEXTS[0],
                         "customer": {"name": NAME, "phone": PHONE_LOCAL, "handle": ZALO},
                         "occurred_at": "2026-11-23T10:00:00+07:00", "attachments": ATTACHED})
    assert r.status == 202, r
    contact = r.json()["event_id"]
    survivor = customer_of(st, contact)
    ticket = st.db.scalar("SELECT ticket_id::text FROM router.messages WHERE event_id = %s",
                          (contact,))
    sent = {}
    for kind, att in (("reply" if replied else "note", {"url": "https://files.example.vn/mai-xqzk/bao-hanh.pdf",
                                 "name": "bao-hanh-mai-xqzk.pdf",
                                 "content_type": "application/pdf", "size": 182044}),
                      ("note", {"url": "https://files.example.vn/noi-bo/mai-wvyu.jpg"})):
        r = call(st, "POST", f"/v1/tickets/{ticket}/replies",
                 {"agent_id": "thu", "text": "Em gửi chị", "internal_note": kind == "note",
                  "attachments": [att]})
        assert r.status == 202, r
        sent[r.json()["event_id"]] = [att]
    sent[contact] = ATTACHED
    st.wait_caught_up("router", "ingest")
    shown = get(st, f"/v1/tickets/{ticket}")
    assert {m["event_id"]: len(m["attachments"]) for m in shown["messages"]} == \
        {e: len(a) for e, a in sent.items()}
    assert "mai-xqzk" in json.dumps(shown)

    erase(st, survivor, "the customer asked")
    st.wait_caught_up(at_least=st.last_seq("ingest"))
    # each field the log seals reads [erased]; the others stay; none is added
    erased = {e: [{("content_type" if k == "type" else k):
                   ("[erased]" if k in ("name", "url", "media_id") else v)
                   for k, v in x.items()} for x in a] for e, a in sent.items()}
    stored = dict(st.db.query("SELECT event_id::text, attachments FROM router.messages"
                              " WHERE ticket_id = %s", (ticket,)))
    assert {e: stored[e] for e in erased} == erased
    shown = get(st, f"/v1/tickets/{ticket}")
    assert {m["event_id"]: m["attachments"] for m in shown["messages"]} == erased
    assert {e["event_id"]: e["attachments"] for e in shown["timeline"]
            if e["kind"] == "message"} == erased
    assert not [t for t in TRACES if t in json.dumps(shown, ensure_ascii=False)]
    assert traces(st) == []
    if replied:
        assert st.db.scalar("SELECT count(*) FROM router.messages WHERE ticket_id = %s"
                            " AND direction = 'out' AND recipient <> '[erased]'", (ticket,)) == 0
    assert_router_rebuilds_as_live(st)


def test_erasure_survives_kill9(stack, pb2):
    st = erasure_stack(stack)
    survivor, merged, _ = a_customer_on_three_channels(st, pb2)
    caught_up(st)
    before = kpis(st)
    # every consumer down but ingest: the erasure waits in the log
    for n in ("router", "survey", "analytics", "courier", "sla"):
        st.kill9(n)
    r = post(st, f"/v1/customers/{survivor}/erasure", {"reason": "asked"})
    assert r.status == 202, r
    # the router applies it and is killed at once; then every other service,
    # each killed while catching up, and restarted
    st["router"].start()
    st.kill9("router")
    st["router"].start()
    from test_survey_support import survey_env
    for n in ("survey", "analytics", "courier", "sla"):
        env = survey_env(st) if n == "survey" else None
        st[n].start(extra_env=env)
        st.kill9(n)
        st[n].start(extra_env=env)
    caught_up(st)
    assert st.db.scalar("SELECT count(*) FROM eventlog.events WHERE type = 'customer.erased'") == 1
    assert traces(st) == []
    assert kpis(st) == before


def test_export_holds_everything(stack, pb2):
    st = erasure_stack(stack)
    survivor, merged, ticket = a_customer_on_three_channels(st, pb2)
    caught_up(st)
    url = f"{st.api_url}/v1/customers/{survivor}/export"
    assert h.http_request(url, headers=st.auth(), timeout=h.scaled(15)).status == 400
    r = h.http_request(url + "?reason=access%20request", headers=st.auth(), timeout=h.scaled(15))
    assert r.status == 200, r
    doc = r.json()
    assert doc["exported_at"] and doc["customer"]["id"] == survivor
    # the export is audited: an event says who read the data, when and why
    audit = st.db.query("SELECT event_id::text, customer_id::text FROM eventlog.events"
                        " WHERE type = 'customer.data_exported'")
    assert audit == [(doc["audit_event_id"], survivor)]
    [ev] = read_all(st, types="customer.data_exported")[0]
    assert ev["body"]["reason"] == "access request" and ev["body"]["actor"]
    assert ev["occurred_at"]
    assert [c["id"] for c in doc["merged_customers"]] == [merged]
    values = {(i["kind"], i["value"]) for i in doc["identities"]}
    assert {("phone", "+84987654321"), ("email", EMAIL), ("zalo", ZALO),
            ("facebook", FACEBOOK)} <= values
    assert sorted(m["text"] for m in doc["messages"] if m["direction"] == "in") == sorted(TEXTS)
    assert [t["id"] for t in doc["tickets"]] and ticket in [t["id"] for t in doc["tickets"]]
    [survey] = doc["surveys"]
    assert survey["answer"]["comment"] == COMMENT and survey["answer"]["csat"] == 3
    text = json.dumps(doc["events"], ensure_ascii=False)
    for t in (NAME, EMAIL, ZALO, FACEBOOK, COMMENT) + TEXTS:
        assert t in text, t
    assert "cbenc1:" not in text
    types = {e["type"] for e in doc["events"]}
    assert {"contact.received", "customer.merged", "survey.answered"} <= types
    # a key without the admin scope is refused; an unknown customer is 404
    from test_ingest_api import new_key
    read = new_key(st, "reader", scopes="read")["key"]
    assert h.http_request(url + "?reason=x", headers=st.auth(read),
                          timeout=h.scaled(15)).status == 403
    assert h.http_request(f"{st.api_url}/v1/customers/{uuid4()}/export?reason=x",
                          headers=st.auth(), timeout=h.scaled(15)).status == 404
    # after an erasure the export shows what is left: nothing personal
    erase(st, survivor)
    caught_up(st)
    after = h.http_request(url + "?reason=check", headers=st.auth(), timeout=h.scaled(15))
    assert after.status == 200
    left = json.dumps(after.json(), ensure_ascii=False)
    assert [t for t in TRACES if t in left] == []
    assert "[erased]" in left


def test_retention_erases_customers_whose_tickets_closed_long_ago(stack, pb2):
    from test_survey_support import open_ticket, set_status
    st = stack(master_key=True)
    st["ingest"].start()
    st["router"].start(extra_env={"CAREBUS_RETENTION_S": "2"})
    old, old_customer = open_ticket(st, 71, text="Hỏi về đơn 71 của chị Hoa")
    kept, kept_customer = open_ticket(st, 72, text="Hỏi về đơn 72 của anh Nam")
    set_status(st, pb2, old, "solved", "ticket.solved")
    set_status(st, pb2, old, "closed", "ticket.closed")
    h.wait_until("the retention's erasure", lambda: st.db.scalar(
        "SELECT count(*) FROM eventlog.events WHERE type = 'customer.erased'") == 1, h.scaled(30))
    [ev] = read_all(st, types="customer.erased")[0]
    assert ev["body"]["customer_ids"] == [old_customer] and ev["body"]["actor"] == "retention"
    st.wait_caught_up()
    texts = dict(st.db.query("SELECT ticket_id::text, text FROM router.messages"))
    assert texts[old] == "[erased]" and "đơn 72" in texts[kept]
    # once: the next looks find nothing more to do
    st.wait_caught_up(at_least=st.last_seq("ingest"))
    assert st.db.scalar("SELECT count(*) FROM eventlog.events"
                        " WHERE type = 'customer.erasure_requested'") == 1
