"""Erasures of customers whose data other records share or hold (README
"Personal data", Erasure).

  a. identities shared across customers: see below
  b. a customer a CRM imported: the import (which names them by handles
     only) is erased with them, and the rebuilt router equals the live one
  c. a CRM import onto a customer who had written first: after their
     erasure the rebuilt router puts the import on that customer again

a. A mother and her son share the family's phone: he wrote from his Facebook
account, then gave the phone (merging him into her), and a supervisor
unmerged them; the phone stays hers, and a later contact of his naming it
is his. Erasing the son erases his name, handle and texts, and nothing of
hers: her name, her phone (an identity, and the courier window of her SMS
number, which his contact also spelled), her handle and texts stay, and
her customer reads as before.
"""

from datetime import timedelta

import carebus_harness as h
from test_ingest_api import call, new_key
from test_privacy import assert_router_rebuilds_as_live, erase
from test_router_acceptance import T0, message, routed_ticket

MOM_TEXTS = ("Máy lạnh nhà tôi hỏng rồi", "Tin nhắn SMS của mẹ đây")
SON_TEXTS = ("Con muốn đổi trả áo khoác", "Con gửi số nhà", "Con lại nhắn đây")


def identities(st, customer):
    r = st.get_api(f"/v1/customers/{customer}")
    assert r.status == 200, r
    return sorted((i["kind"], i["value"]) for i in r.json()["identities"])


def test_erasing_one_customer_leaves_the_other_sharing_a_phone(stack):
    st = stack("ingest", "router", "courier", master_key=True)
    sup = new_key(st, "supervisor desk", scopes="supervisor,read")["key"]
    m1 = message(st, "zalo", MOM_TEXTS[0], T0, handle="z-mom-shared", phone="0901234567",
                 name="Trần Thị Bích")
    m2 = message(st, "sms", MOM_TEXTS[1], T0 + timedelta(minutes=1), phone="0901234567")
    s1 = message(st, "facebook", SON_TEXTS[0], T0 + timedelta(minutes=2), handle="fb-son-shared",
                 name="Nguyễn Văn Khoa")
    mom_ticket, son_ticket = routed_ticket(st, m1), routed_ticket(st, s1)
    routed_ticket(st, m2)
    mom = st.get_api(f"/v1/events/{m1}").json()["customer_id"]
    son = st.get_api(f"/v1/events/{s1}").json()["customer_id"]
    assert mom != son
    # he gives the family's phone (one customer), then they are unmerged
    message(st, "facebook", SON_TEXTS[1], T0 + timedelta(minutes=3), handle="fb-son-shared",
            phone="0901234567")
    st.wait_caught_up(stream="ingest", timeout=h.scaled(60))
    r = call(st, "POST", f"/v1/customers/{son}/unmerge", {"reason": "mẹ và con dùng chung số"},
             key=sup)
    assert r.status == 202, r
    st.wait_caught_up(stream="ingest", timeout=h.scaled(60))
    # his later contact names the shared phone: it is his (by his handle)
    s3 = message(st, "facebook", SON_TEXTS[2], T0 + timedelta(minutes=20),
                 handle="fb-son-shared", phone="0901234567")
    assert routed_ticket(st, s3) == son_ticket
    assert identities(st, mom) == [("phone", "+84901234567"), ("zalo", "z-mom-shared")]
    assert identities(st, son) == [("facebook", "fb-son-shared")]
    h.wait_until("courier's windows", lambda: st.db.scalar(
        "SELECT count(*) FROM courier.windows WHERE handle IN"
        " ('z-mom-shared', '0901234567', 'fb-son-shared')") == 3, h.scaled(20))
    before = st.get_api(f"/v1/customers/{mom}").json()
    mom_ticket_before = st.get_api(f"/v1/tickets/{mom_ticket}").json()

    erase(st, son, "con yêu cầu xoá")
    st.wait_caught_up(stream="ingest", timeout=h.scaled(60))
    st.wait_caught_up(consumer="courier", stream="router", timeout=h.scaled(60))

    # his data is gone
    son_now = st.get_api(f"/v1/customers/{son}").json()
    text = str(son_now) + str(st.get_api(f"/v1/tickets/{son_ticket}").json())
    for t in ("Khoa", "fb-son-shared") + (SON_TEXTS[0], SON_TEXTS[2]):
        assert t not in text, t
    assert st.db.scalar("SELECT count(*) FROM courier.windows WHERE handle = 'fb-son-shared'") == 0
    # hers is not: her customer reads as before, her phone is hers, and the
    # window of her SMS number (the spelling his contact used too) stays
    assert st.get_api(f"/v1/customers/{mom}").json() == before
    assert identities(st, mom) == [("phone", "+84901234567"), ("zalo", "z-mom-shared")]
    assert st.get_api(f"/v1/tickets/{mom_ticket}").json() == mom_ticket_before
    assert st.db.scalar("SELECT count(*) FROM courier.windows"
                        " WHERE handle IN ('z-mom-shared', '0901234567')") == 2
    assert st.db.scalar("SELECT count(*) FROM router.messages WHERE customer_id = %s"
                        " AND text = ANY (%s)", (mom, list(MOM_TEXTS))) == 2


def test_an_imported_customers_erasure_reaches_the_import(stack):
    """A customer a CRM imported (customer.imported names them by their
    handles only) then wrote: the erasure destroys the import's data key
    too, so neither the feed nor a rebuilt router reads their name, phone
    or e-mail again; the rebuilt router equals the live one."""
    from test_event_feed import read_all
    st = stack("ingest", "router", master_key=True)
    crm = {"name": "Đỗ Thị Quyên", "phone": "0977 111 222", "email": "quyen.do@example.vn",
           "segment": "vip", "crm_id": "CRM-77", "attributes": {"city": "Huế"}}
    r = h.http_request(f"{st.api_url}/v1/customers", "POST", crm, st.auth(), timeout=h.scaled(15))
    assert r.status == 202, r
    other = h.http_request(f"{st.api_url}/v1/customers", "POST",
                           {"name": "Lý Văn Tâm", "phone": "0966 333 444"}, st.auth(),
                           timeout=h.scaled(15))
    assert other.status == 202, other
    m = message(st, "zalo", "Tôi cần đổi địa chỉ giao hàng", T0, handle="z-quyen",
                phone="0977111222")
    routed_ticket(st, m)
    customer = st.get_api(f"/v1/events/{m}").json()["customer_id"]
    assert st.get_api(f"/v1/customers/{customer}").json()["name"] == crm["name"]
    erase(st, customer)
    st.wait_caught_up(stream="ingest", timeout=h.scaled(60))
    events, _ = read_all(st, types="customer.imported")
    text = str(events)
    for t in ("Quyên", "977111222", "0977 111 222", "quyen.do", "Huế"):
        assert t not in text, t
    assert "Lý Văn Tâm" in text  # the other import stays
    assert_router_rebuilds_as_live(st)
    assert "Quyên" not in str(st.get_api(f"/v1/customers/{customer}").json())


def test_an_import_onto_an_existing_customer_is_rebuilt_onto_it(stack):
    """A customer wrote on Zalo, then the CRM imported them by their phone
    (the import goes onto that customer, customer.import_applied saying
    so); after their erasure the import reads no phone, yet the rebuilt
    router puts it on the same customer, and equals the live one."""
    st = stack("ingest", "router", master_key=True)
    m = message(st, "zalo", "Tôi muốn hỏi về đơn hàng", T0, handle="z-hoa-imp",
                phone="0912 345 678", name="Phan Thị Hoa")
    routed_ticket(st, m)
    customer = st.get_api(f"/v1/events/{m}").json()["customer_id"]
    crm = {"name": "Phan Thị Hoa", "phone": "0912345678", "segment": "vip",
           "crm_id": "CRM-88", "attributes": {"city": "Đà Nẵng"}}
    r = h.http_request(f"{st.api_url}/v1/customers", "POST", crm, st.auth(), timeout=h.scaled(15))
    assert r.status == 202, r
    st.wait_caught_up(stream="ingest", timeout=h.scaled(60))
    imported = st.db.scalar("SELECT event_id::text FROM eventlog.events"
                            " WHERE type = 'customer.imported'")
    assert st.db.scalar("SELECT customer_id::text FROM router.imports WHERE event_id = %s",
                        (imported,)) == customer
    assert st.db.scalar("SELECT array_agg(customer_id::text) FROM eventlog.events"
                        " WHERE type = 'customer.import_applied'") == [customer]
    assert st.get_api(f"/v1/customers/{customer}").json()["segment"] == "vip"
    assert st.db.scalar("SELECT count(*) FROM router.customers") == 1

    erase(st, customer)
    st.wait_caught_up(stream="ingest", timeout=h.scaled(60))
    assert_router_rebuilds_as_live(st)
    # the import is its customer's still, and made none of its own
    assert st.db.scalar("SELECT count(*) FROM router.customers") == 1
    assert st.db.scalar("SELECT customer_id::text FROM router.imports WHERE event_id = %s",
                        (imported,)) == customer
    assert st.get_api(f"/v1/customers/{customer}").json()["segment"] == "vip"
