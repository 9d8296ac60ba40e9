"""Issue 11, attachments: what a customer sends with a message, and what an
agent sends with a reply or a note, shown on the ticket's timeline, end to
end (real ingest and router, PostgreSQL, personal data sealed in the log).

  a. contacts with files through every door: POST /v1/messages as JSON (by
     URL with name, type and size; by a provider's media id without a URL)
     and as protobuf, Zalo's webhook (an image and a file, by URL, as Zalo
     sends them) and WhatsApp's (an image and a document: only media ids);
     a reply and an internal note with files
  b. each file on GET /v1/tickets/{id} (messages and timeline) and on every
     page of GET /v1/tickets/{id}/timeline, with its fields as they came
     (empty ones left out)
  c. docs/openapi.yaml describes what is returned: every field of a
     message, a timeline entry and an attachment is documented, and the
     answers fit their schemas
  d. the names, URLs and media ids are sealed in the log

Every wait is bounded (h.wait_until).
"""

import json
from datetime import datetime, timedelta, timezone

import carebus_harness as h
from test_ingest_api import call, wait_routed
from test_ingest_openapi import resolve, schema_problems, spec  # noqa: F401 (spec: a fixture)
from test_lists import all_pages, get
from test_webhooks import SECRETS, WA_SECRET, ZALO_APP_ID, meta_sig, post, zalo_sig

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=7)))

# What the customers sent, as each door takes it, and as the timeline shows it.
PDF = {"name": "hoa-don-DH1002.pdf", "type": "application/pdf", "size": 48213,
       "url": "https://files.example.vn/u/hoa-don-DH1002.pdf"}
PHOTO = {"name": "anh-may-giat.jpg", "type": "image/jpeg", "size": 734001,
         "media_id": "zalo-att-8f3e61b2c4"}
BARE = {"media_id": "wa-media-1190348571"}  # nothing but the provider's id


def shown(a):
    """An attachment as the timeline shows it: "type" is content_type."""
    return {("content_type" if k == "type" else k): v for k, v in a.items()}


def ticket(st, tid):
    return get(st, f"/v1/tickets/{tid}")


def entry(t, event_id):
    """The message of event_id on ticket t's timeline, and in its messages."""
    es = [e for e in t["timeline"] if e.get("event_id") == event_id]
    ms = [m for m in t["messages"] if m["event_id"] == event_id]
    assert len(es) == 1 and len(ms) == 1, (event_id, t["timeline"])
    assert es[0]["kind"] == "message"
    assert es[0]["attachments"] == ms[0]["attachments"]
    return es[0]


def event_of(st, scope, key):
    """The event id of a webhook's contact, once routed."""
    eid = h.wait_until(f"{scope} {key} logged", lambda: st.db.scalar(
        "SELECT event_id::text FROM eventlog.events WHERE idem_scope = %s AND idem_key = %s",
        (scope, key)), h.scaled(10))
    return wait_routed(st, eid)


def zalo_event(msg_id, ts, text, attachments):
    """A Zalo OA user_send_* webhook (developers.zalo.me/docs/official-account/webhook)."""
    return json.dumps({
        "app_id": ZALO_APP_ID, "user_id_by_app": "552177279717587730",
        "event_name": "user_send_" + attachments[0]["type"], "timestamp": ts,
        "sender": {"id": "4120978365"}, "recipient": {"id": "579745863508352884"},
        "message": {"msg_id": msg_id, "text": text, "attachments": attachments}},
        ensure_ascii=False).encode()


def test_attachments_of_contacts_replies_and_notes_show_on_the_timeline(stack, pb2, spec):
    st = stack(master_key=True)
    st["ingest"].start(wait_ready=False, extra_env=SECRETS)
    st["router"].start(wait_ready=False)
    for name in ("ingest", "router"):
        st[name].wait_ready()
    secrets = []  # what must not be readable in the log

    # a. POST /v1/messages: a file by URL, one by a media id, one with
    # nothing but the id, on one ticket.
    msg = {"channel": "zalo", "external_id": "att-1", "text": "Hóa đơn và ảnh máy giặt bị lỗi",
           "customer": {"name": "Nguyễn Thị Lan", "phone": "0901234567"},
           "occurred_at": T0.isoformat(), "attachments": [PDF, PHOTO, BARE]}
    r = call(st, "POST", "/v1/messages", msg)
    assert r.status == 202, r
    api = wait_routed(st, r.json()["event_id"])
    secrets += [PDF["name"], PDF["url"], PHOTO["name"], PHOTO["media_id"], BARE["media_id"]]

    # The same through protobuf, on the same customer's ticket.
    env = pb2.Envelope()
    env.occurred_at.FromJsonString("2026-11-23T02:05:00Z")
    c = env.contact_received
    c.channel = pb2.CHANNEL_ZALO
    c.external_id = "att-2"
    c.customer.phone = "0901234567"
    c.text = "Thêm một ảnh"
    a = c.attachments.add()
    a.name, a.content_type, a.size, a.media_id = "anh-2.png", "image/png", 2048, "zalo-att-77"
    r = call(st, "POST", "/v1/messages", env.SerializeToString(),
             headers={"Content-Type": "application/x-protobuf"})
    assert r.status == 202, r
    pb = wait_routed(st, r.json()["event_id"])
    assert pb["ticket_id"] == api["ticket_id"]
    secrets += ["anh-2.png", "zalo-att-77"]

    # Zalo's webhook: an image (URL and thumbnail), then a file (URL, name,
    # size as a string, its extension as the type).
    zalo = [
        ("zatt-1", "1795399500000", "ảnh lỗi", [{"type": "image", "payload": {
            "thumbnail": "https://dl-zalo.example/t/a1.jpg",
            "url": "https://dl-zalo.example/i/a1.jpg"}}]),
        ("zatt-2", "1795399560000", "", [{"type": "file", "payload": {
            "url": "https://dl-zalo.example/f/bao-hanh.pdf", "name": "phieu-bao-hanh.pdf",
            "size": "1024000", "checksum": "8c2f1e", "type": "pdf"}}]),
    ]
    for msg_id, ts, text, atts in zalo:
        body = zalo_event(msg_id, ts, text, atts)
        r = post(st, "/v1/webhooks/zalo", body, {"X-ZEvent-Signature": zalo_sig(body, ts)})
        assert r.status == 200, r
    z1, z2 = (event_of(st, "msg:zalo", m) for m, _, _, _ in zalo)
    assert z1["ticket_id"] == z2["ticket_id"]
    secrets += ["dl-zalo.example/i/a1.jpg", "phieu-bao-hanh.pdf"]

    # WhatsApp's webhook: media come as ids only, a document with its file
    # name, an image without one.
    wa = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881",
                         "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Trần Minh"}, "wa_id": "84912345678"}],
            "messages": [
                {"from": "84912345678", "id": "wamid.ATT1", "timestamp": "1795399600",
                 "type": "document", "document": {
                     "caption": "hợp đồng", "filename": "hop-dong.pdf",
                     "mime_type": "application/pdf", "sha256": "c0ffee", "id": "1190348572"}},
                {"from": "84912345678", "id": "wamid.ATT2", "timestamp": "1795399660",
                 "type": "image", "image": {
                     "mime_type": "image/jpeg", "sha256": "beef", "id": "2754859441498128"}},
            ]}}]}]}
    body = json.dumps(wa, ensure_ascii=False).encode()
    r = post(st, "/v1/webhooks/whatsapp", body, {"X-Hub-Signature-256": meta_sig(WA_SECRET, body)})
    assert r.status == 200, r
    w1, w2 = (event_of(st, "msg:whatsapp", m) for m in ("wamid.ATT1", "wamid.ATT2"))
    assert w1["ticket_id"] == w2["ticket_id"]
    secrets += ["hop-dong.pdf", "1190348572", "2754859441498128"]

    # A reply and an internal note with files, on the Zalo ticket.
    tz = z1["ticket_id"]
    guide = {"url": "https://files.example.vn/huong-dan-bao-hanh.pdf",
             "name": "huong-dan-bao-hanh.pdf", "content_type": "application/pdf",
             "size": 182044}
    r = call(st, "POST", f"/v1/tickets/{tz}/replies",
             {"agent_id": "thu", "text": "Em gửi chị hướng dẫn bảo hành", "attachments": [guide]})
    assert r.status == 202, r
    reply = r.json()["event_id"]
    photo = {"url": "https://files.example.vn/noi-bo/kho.jpg"}
    r = call(st, "POST", f"/v1/tickets/{tz}/replies",
             {"agent_id": "thu", "text": "Ảnh kho", "internal_note": True, "attachments": [photo]})
    assert r.status == 202, r
    note = r.json()["event_id"]
    st.wait_caught_up("router", "ingest")

    # b. Each on its ticket's timeline, with its fields as they came.
    t = ticket(st, api["ticket_id"])
    assert entry(t, api["event_id"])["attachments"] == [shown(PDF), shown(PHOTO), BARE]
    assert entry(t, pb["event_id"])["attachments"] == [
        {"name": "anh-2.png", "content_type": "image/png", "size": 2048,
         "media_id": "zalo-att-77"}]
    t = ticket(st, tz)
    assert entry(t, z1["event_id"])["attachments"] == [
        {"content_type": "image", "url": "https://dl-zalo.example/i/a1.jpg"}]
    assert entry(t, z2["event_id"])["attachments"] == [
        {"name": "phieu-bao-hanh.pdf", "content_type": "pdf", "size": 1024000,
         "url": "https://dl-zalo.example/f/bao-hanh.pdf"}]
    e = entry(t, reply)
    assert (e["direction"], e["outbound_kind"], e["attachments"]) == ("out", "reply", [guide])
    e = entry(t, note)
    assert (e["direction"], e["attachments"]) == ("note", [photo])
    tw = ticket(st, w1["ticket_id"])
    e = entry(tw, w1["event_id"])
    assert (e["text"], e["attachments"]) == ("hợp đồng", [
        {"name": "hop-dong.pdf", "content_type": "application/pdf", "media_id": "1190348572"}])
    # Without a file name the id names it.
    assert entry(tw, w2["event_id"])["attachments"] == [
        {"name": "2754859441498128", "content_type": "image/jpeg",
         "media_id": "2754859441498128"}]
    # Messages without files say so with an empty list.
    assert all(x["attachments"] == [] for x in t["timeline"]
               if x["kind"] == "message" and x["event_id"] not in
               (z1["event_id"], z2["event_id"], reply, note))

    # The timeline's pages show the same entries.
    for one in (ticket(st, api["ticket_id"]), t, tw):
        pages = all_pages(st, f"/v1/tickets/{one['id']}/timeline", limit=2)
        assert pages == one["timeline"], one["id"]

    # c. The document says what came back.
    schemas = spec["components"]["schemas"]
    documented = {
        "message": set(resolve(spec, schemas["Ticket"]["properties"]["messages"]["items"])
                       ["properties"]),
        "entry": set(resolve(spec, schemas["Ticket"]["properties"]["timeline"]["items"])
                     ["properties"]),
        "attachment": set(schemas["Attachment"]["properties"]),
    }
    assert resolve(spec, schemas["TimelinePage"]["properties"]["items"]["items"]) == \
        resolve(spec, schemas["Ticket"]["properties"]["timeline"]["items"])
    for one in (ticket(st, api["ticket_id"]), t, tw):
        assert schema_problems(spec, one, schemas["Ticket"]) == [], one["id"]
        page = get(st, f"/v1/tickets/{one['id']}/timeline?limit=100")
        assert schema_problems(spec, page, schemas["TimelinePage"]) == []
        for m in one["messages"]:
            assert set(m) <= documented["message"], set(m) - documented["message"]
        for x in one["timeline"]:
            assert set(x) <= documented["entry"], set(x) - documented["entry"]
        for x in one["timeline"] + one["messages"]:
            for a in x.get("attachments", []):
                assert set(a) <= documented["attachment"], a

    # d. Sealed in the log: none of it is readable there.
    log = b"".join(bytes(p) for (p,) in st.db.query("SELECT payload FROM eventlog.events"))
    for s in secrets:
        assert s.encode() not in log, f"{s!r} is readable in the log"
