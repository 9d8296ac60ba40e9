#!/usr/bin/env python3
"""demo.py — `make demo`: a week at the care desk, played through the public API.

Reads var/env (written by `make run`; CAREBUS_VAR_DIR moves it) and, with
nothing but HTTP: brings seven agents online (presence), then plays about
thirty customers' stories dated over the past seven days on all twelve
channels — agents replying, transfers to another team, tickets pending on
the customer, solves, a customer writing again after a solve (a reopen),
VIP and wholesale customers, a churned customer — and answers most of the
surveys through the survey service's answer API. A few customers of five
weeks ago give the churn rate its base. It ends once the dashboard's KPIs
all have a value, and prints them. The agents get a desk password, made
once into var/demo-password, and agent-mai the supervisor role, so the
desk can be tried at once (a development stack only: never on real data).

Customers run four at a time, each one's stories in their order. Every write carries a
fixed key (a message's external_id, else an Idempotency-Key), so a second
run changes nothing (with the same API key: Idempotency-Key is scoped to
it). What is subtle: the SLA monitor keeps time by the clock. The demo posts
a week after the fact, so a target whose deadline had passed before its
reply or solve was posted is breached at once, as it would be for real:
the replayed days show breaches, the last hours mostly met targets.

Python 3 standard library only. Exits non-zero, saying why, when the stack
is not up or a request keeps failing.
"""

import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VN = dt.timezone(dt.timedelta(hours=7))
WORKERS = 4
WAIT_S = 15  # for the router, the survey service, analytics to catch up
SUPERVISOR = "agent-mai"  # signs in to the desk's supervisor view

# --- who works this week -------------------------------------------------------

AGENTS = [
    # id, name, teams, teams led
    ("agent-mai", "Nguyễn Ngọc Mai", ["support", "sales"], ["support"]),
    ("agent-hung", "Lê Quốc Hùng", ["technical", "support"], ["technical"]),
    ("agent-linh", "Phạm Thuỳ Linh", ["complaints"], ["complaints"]),
    ("agent-tuan", "Đỗ Minh Tuấn", ["returns-warranty", "support"], []),
    ("agent-thao", "Vũ Phương Thảo", ["account-management", "loyalty"], ["account-management"]),
    ("agent-khoa", "Trần Đăng Khoa", ["sales", "loyalty"], ["sales", "loyalty"]),
    ("agent-ngoc", "Hồ Bảo Ngọc", ["complaints", "returns-warranty"], ["returns-warranty"]),
]


def C(name, phone=None, email=None, handles=None, segment=None):
    """A customer: phone, email, and their user id on some channels."""
    return {"name": name, "phone": phone, "email": email, "handles": handles or {},
            "segment": segment}


# --- the stories -----------------------------------------------------------------
# Story(key, days ago, "HH:MM" Vietnam time, customer, channel, text, steps).
# Steps, each at minutes after the first contact:
#   (m, "reply", text)              the ticket's agent answers, on the story's channel
#   (m, "note", text)               an internal note
#   (m, "transfer", team, reason)   to another team (its agent answers next)
#   (m, "pending", reason)          waiting on the customer
#   (m, "solve", reason)
#   (m, "contact", channel, text)   the customer writes again (after a solve: a reopen)
#   (m, "churned", reason)          the customer leaves (customer profile API)
#   (0, "survey", csat, ces, text)  the survey of the last solve, answered
# A story's segment (vip, wholesale) is set through the customer profile API.


class Story:
    def __init__(self, key, days, clock, customer, channel, text, steps=(), subject=None,
                 call=None):
        self.key, self.days, self.clock = key, days, clock
        self.customer, self.channel, self.text = customer, channel, text
        self.steps, self.subject, self.call = list(steps), subject, call


LAN = C("Nguyễn Thị Lan", phone="0901234567", email="lan.nguyen@example.vn", handles={"zalo": "zalo-uid-1"})
MINH = C("Trần Văn Minh", phone="0912345678", handles={"facebook": "fb-psid-7731"})
EMILY = C("Emily Carter", email="emily.carter@example.com")
TUNG = C("Võ Thanh Tùng", phone="0987001122", handles={"chat": "chat-visitor-51"})
DANIEL = C("Daniel Pham", phone="+84903334455",
           handles={"whatsapp": "wa-84903334455", "zalo": "zalo-uid-440"})
HA = C("Lê Thu Hà", phone="0935667788", email="thuha.le@example.vn")
MAIANH = C("Đặng Mai Anh", phone="0909888777", email="maianh.dang@congtyabc.vn",
           segment="wholesale")
BAO = C("Hoàng Gia Bảo", phone="0977123456",
        handles={"zalo": "zalo-uid-88", "facebook": "fb-psid-5510"})
SARAH = C("Sarah Lim", email="sarah.lim@example.sg", handles={"chat": "chat-visitor-77"})
TRAM = C("Bùi Ngọc Trâm", phone="0966554433")
THAO = C("Lý Phương Thảo", phone="0944221100", handles={"facebook": "fb-psid-9902"})
KEVIN = C("Kevin Tran", phone="+84911222333", handles={"whatsapp": "wa-84911222333"})
THANG = C("Ngô Đức Thắng", phone="0933445566")
CHAU = C("Phan Minh Châu", email="chau.phan@example.vn")
VINH = C("Trương Quang Vinh", phone="0922113344", segment="vip")
OLIVIA = C("Olivia Brown", email="olivia.brown@example.com")
DUC = C("Phạm Văn Đức", phone="0919556677", email="duc.pham@example.vn")
QUYEN = C("Mai Lệ Quyên", phone="0938112233", handles={"instagram": "ig-quyen.mai"})
HIEU = C("Đinh Trung Hiếu", phone="0971223344", handles={"tiktok": "tt-hieu.dinh"})
ANNA = C("Anna Nguyen", email="anna.nguyen@example.com", handles={"twitter": "x-annanguyen"})
SON = C("Lâm Hoàng Sơn", phone="0903445566")
YEN = C("Tạ Hải Yến", phone="0945778899", handles={"zalo": "zalo-uid-305"})
OLD = [C("Cao Thị Hồng", phone="0961112233"), C("Kiều Văn Phúc", phone="0962223344"),
       C("Lục Thanh Tâm", email="tam.luc@example.vn"), C("Quách Gia Huy", phone="0964445566")]

STORIES = [
    # Five weeks ago: customers whose history starts before this month.
    *[Story(f"old{i}", 36 + 2 * i, "10:15", c, ch, text,
            [(25, "reply", "Dạ em đã ghi nhận, bên em xử lý ngay ạ."), (240, "solve", "done")])
      for i, (c, ch, text) in enumerate([
          (OLD[0], "phone", "Hỏi lịch bảo dưỡng máy lạnh định kỳ."),
          (OLD[1], "zalo", "Cần xuất hoá đơn VAT cho đơn hàng tháng trước."),
          (OLD[2], "email", "Xin hướng dẫn đổi địa chỉ giao hàng mặc định."),
          (OLD[3], "facebook", "Shop còn mẫu nồi cơm điện 1.8L màu trắng không?")])],
    Story("old-duc", 41, "14:30", DUC, "email", "Đăng ký nhận thông tin khuyến mãi cho khách quen.",
          [(40, "reply", "Dạ em đã đăng ký cho anh rồi ạ."), (60, "solve", "done")],
          subject="Khuyến mãi"),
    # The week.
    Story("lan", 6, "09:12", LAN, "zalo",
          "Tôi cần hỗ trợ bảo hành máy lọc nước mua tháng trước, máy không lên nguồn.",
          [(18, "reply", "Chào chị Lan, em đã tạo phiếu bảo hành, kỹ thuật viên sẽ liên hệ chị."),
           (95, "contact", "phone",
            "Gọi lại về bảo hành máy lọc nước: đã nhắn Zalo nhưng chưa ai liên hệ."),
           (120, "transfer", "technical", "cần kỹ thuật viên đến nhà"),
           (150, "reply", "Kỹ thuật viên Hùng sẽ đến nhà chị sáng mai lúc 9 giờ."),
           (1560, "reply", "Kỹ thuật viên đã thay bo nguồn, máy chạy bình thường ạ."),
           (1600, "solve", "thay bo nguồn"),
           (0, "survey", 4, 5, "Kỹ thuật viên nhiệt tình, nhưng chờ hơi lâu.")]),
    Story("minh", 6, "10:40", MINH, "facebook",
          "Hoá đơn tháng 11 bị tính hai lần, nhờ kiểm tra giúp mình.",
          [(12, "reply", "Dạ em kiểm tra thấy bị trừ trùng, em đã yêu cầu hoàn tiền ạ."),
           (300, "solve", "hoàn tiền trùng"),
           (1500, "contact", "sms", "Mã hoá đơn HD-2026-1187, vẫn chưa thấy hoàn lại phần tiền bị trừ trùng."),
           (1530, "reply", "Dạ tiền đã hoàn về tài khoản của anh lúc 10 giờ sáng nay ạ."),
           (1560, "solve", "đã hoàn tiền"),
           (0, "survey", 3, 4, "Phải nhắn hai lần mới xong.")]),
    Story("emily", 6, "14:05", EMILY, "email",
          "My order is late: it was due last Friday and tracking has not moved since.",
          [(35, "reply", "Sorry for the delay, Emily. The courier lost the scan; your parcel ships today."),
           (2900, "contact", "email", "Still nothing. If it does not arrive by Monday I would like a refund."),
           (2950, "transfer", "complaints", "second complaint about the same order"),
           (2990, "reply", "We are refunding the shipping and sending a new parcel by express."),
           (4400, "solve", "reshipped by express"),
           (0, "survey", 2, 3, "Took far too long.")],
          subject="Order A-55812"),
    Story("tung", 5, "08:47", TUNG, "chat",
          "Tư vấn sản phẩm: laptop cho sinh viên kỹ thuật, ngân sách khoảng 20 triệu.",
          [(6, "reply", "Dạ em gợi ý anh 3 mẫu có card đồ hoạ rời, bảo hành 24 tháng, trả góp 0%."),
           (40, "solve", "đã tư vấn"),
           (0, "survey", 5, 7, "Tư vấn nhanh và rõ ràng.")]),
    Story("daniel", 5, "09:30", DANIEL, "whatsapp",
          "urgent: cannot log in to my account since the password reset this morning.",
          [(9, "reply", "Hi Daniel, we unlocked your account; please set a new password from the link."),
           (30, "contact", "zalo", "Still locked out — I also tried from the app, same error \"account disabled\"."),
           (45, "reply", "Fixed on our side: the app session was cached. Please log in again."),
           (70, "solve", "account unlocked"),
           (0, "survey", 4, 5, "")]),
    Story("ha", 5, "11:20", HA, "helpcenter",
          "Đổi trả: áo khoác mua online size M hơi chật, muốn đổi sang size L.",
          [(25, "reply", "Dạ chị mang áo đến cửa hàng gần nhất hoặc gửi bưu điện, bên em đổi miễn phí."),
           (200, "contact", "store", "Khách mang áo khoác đến cửa hàng Quận 3 để đổi size, nhân viên cần mã đơn."),
           (215, "reply", "Mã đơn của chị là DH-88213, cửa hàng đã đổi size L."),
           (230, "solve", "đã đổi size"),
           (0, "survey", 5, 6, "Đổi nhanh, nhân viên dễ thương.")],
          subject="Đổi trả áo khoác"),
    Story("maianh", 5, "15:10", MAIANH, "email",
          "Công ty cần báo giá sỉ 200 bình giữ nhiệt in logo, giao trước 15/12.",
          [(50, "reply", "Dạ em gửi chị báo giá sỉ đính kèm, giá đã gồm in logo."),
           (60, "pending", "chờ khách xác nhận báo giá"),
           (1500, "contact", "email", "Bên mình đồng ý báo giá, nhờ xuất hoá đơn cho công ty."),
           (1540, "reply", "Em đã lên đơn và gửi hoá đơn nháp cho chị ạ."),
           (1600, "solve", "đơn sỉ đã chốt"),
           (0, "survey", 5, 6, "")],
          subject="Báo giá sỉ"),
    Story("bao", 4, "09:05", BAO, "zalo",
          "Khiếu nại: nhân viên giao hàng thái độ không tốt và giao trễ 2 ngày.",
          [(200, "contact", "facebook", "Chưa ai phản hồi khiếu nại hôm trước trên Zalo, mình rất không hài lòng."),
           (230, "reply", "Em thành thật xin lỗi anh, em đã báo đơn vị vận chuyển và tặng anh mã giảm giá."),
           (600, "solve", "xin lỗi và tặng voucher"),
           (0, "survey", 2, 2, "Phản hồi quá chậm.")]),
    Story("sarah", 4, "13:40", SARAH, "chat",
          "Do you ship to Singapore? I need product details for the X2 air purifier.",
          [(4, "reply", "Yes, we ship to Singapore in 5-7 days. The X2 covers 45 m², datasheet attached."),
           (20, "solve", "answered"),
           (0, "survey", 5, 7, "Quick and helpful!")]),
    Story("tram", 4, "16:15", TRAM, "phone",
          "Không đăng nhập được ứng dụng, báo sai mật khẩu dù đã đổi mật khẩu hai lần.",
          [(8, "reply", "Dạ em đã đặt lại mật khẩu, chị kiểm tra SMS giúp em."),
           (25, "solve", "đặt lại mật khẩu"),
           (0, "survey", 4, 6, "")],
          call={"answered_after_s": 14, "duration_s": 380, "agent": "agent-thao"}),
    Story("thao", 3, "08:30", THAO, "facebook",
          "Nồi chiên không dầu bị liệt nút bấm sau 2 tuần, còn bảo hành không ạ?",
          [(22, "reply", "Dạ máy còn bảo hành 12 tháng, chị gửi máy về trung tâm bảo hành giúp em."),
           (30, "pending", "chờ khách gửi máy"),
           (1450, "contact", "facebook", "Mình đã gửi máy qua bưu điện, mã vận đơn VN123456."),
           (1480, "reply", "Đã nhận máy, bên em đổi máy mới cho chị trong hôm nay."),
           (1700, "solve", "đổi máy mới"),
           (0, "survey", 5, 5, "Bảo hành nhanh.")]),
    Story("kevin", 3, "10:10", KEVIN, "whatsapp",
          "I returned the headphones 10 days ago and the refund has still not arrived.",
          [(15, "reply", "Sorry Kevin, the refund was stuck; it has been released today."),
           (40, "solve", "refund released"),
           (0, "survey", 4, 4, "")]),
    Story("thang", 3, "11:45", THANG, "sms",
          "Đã nhận hàng, cảm ơn shop. Cho hỏi hoá đơn VAT gửi qua email nào?",
          [(30, "reply", "Dạ hoá đơn VAT gửi qua email anh đăng ký, em gửi lại ngay ạ."),
           (45, "solve", "gửi lại hoá đơn"),
           (0, "survey", 5, 6, "")]),
    Story("chau", 3, "14:20", CHAU, "helpcenter",
          "Tài khoản bị khoá sau khi nhập sai OTP, cần mở khoá gấp để thanh toán.",
          [(11, "reply", "Dạ em đã mở khoá tài khoản, anh thử thanh toán lại giúp em."),
           (20, "solve", "mở khoá"),
           (0, "survey", 5, 7, "Rất nhanh!")],
          subject="Tài khoản bị khoá"),
    Story("tung2", 2, "09:15", TUNG, "chat",
          "Mẫu nào có card đồ hoạ rời và bảo hành 24 tháng? Có trả góp 0% không?",
          [(7, "reply", "Dạ mẫu Aspire 7 và Vivobook Pro đều có, trả góp 0% qua thẻ tín dụng."),
           (10, "transfer", "sales", "khách muốn đặt hàng"),
           (30, "reply", "Em đã giữ hàng cho anh, anh ghé cửa hàng nhận máy nhé."),
           (60, "solve", "đã bán"),
           (0, "survey", 5, 6, "")]),
    Story("vinh", 2, "10:00", VINH, "store",
          "Khách VIP hỏi đổi trả tủ lạnh bị móp khi giao, yêu cầu đổi máy mới.",
          [(10, "reply", "Dạ bên em đổi máy mới cho anh trong chiều nay, xin lỗi anh vì sự cố."),
           (240, "solve", "đổi tủ lạnh mới"),
           (0, "survey", 5, 6, "Xử lý chuyên nghiệp.")]),
    Story("olivia", 2, "13:30", OLIVIA, "email",
          "Could you resend invoice INV-20931 with our company tax code on it?",
          [(45, "reply", "Here is INV-20931 reissued with your tax code."),
           (50, "solve", "invoice reissued")],
          subject="Invoice INV-20931"),
    Story("duc", 2, "16:40", DUC, "email",
          "Khiếu nại: tôi muốn đóng tài khoản, dịch vụ bảo hành quá chậm, tôi chuyển sang hãng khác.",
          [(40, "reply", "Dạ em rất tiếc, em đã chuyển yêu cầu đóng tài khoản của anh."),
           (60, "transfer", "account-management", "khách yêu cầu đóng tài khoản"),
           (120, "reply", "Tài khoản của anh đã đóng, phần điểm thưởng được quy đổi vào ví."),
           (130, "solve", "đóng tài khoản"),
           (140, "churned", "chuyển sang đối thủ")],
          subject="Đóng tài khoản"),
    Story("quyen", 1, "09:25", QUYEN, "instagram",
          "Son màu 05 còn hàng không shop? Mình muốn mua 2 thỏi.",
          [(14, "reply", "Dạ còn hàng ạ, em gửi chị link đặt hàng nhé."),
           (20, "solve", "đã tư vấn"),
           (0, "survey", 5, 7, "")]),
    Story("hieu", 1, "11:05", HIEU, "tiktok",
          "Video review nói máy xay có 3 cối, sao mình nhận chỉ có 2?",
          [(30, "reply", "Dạ bản tiêu chuẩn có 2 cối, em gửi tặng anh thêm 1 cối xay khô."),
           (45, "solve", "tặng cối"),
           (0, "survey", 4, 5, "")]),
    Story("anna", 1, "14:50", ANNA, "twitter",
          "Your app keeps crashing when I open my order history. Please fix!",
          [(20, "reply", "Thanks Anna, a fix ships tonight; clearing the app cache works meanwhile."),
           (25, "transfer", "technical", "app bug"),
           (70, "reply", "The fix is live in version 4.2.1."),
           (1200, "solve", "fixed in 4.2.1"),
           (0, "survey", 3, 4, "")]),
    Story("son", 1, "15:30", SON, "phone",
          "Máy giặt kêu to khi vắt, cần kỹ thuật đến kiểm tra.",
          [(10, "reply", "Dạ em đặt lịch kỹ thuật đến nhà anh sáng mai."),
           (20, "note", "khách ở Thủ Đức, ưu tiên ca sáng")]),
    Story("yen", 0, "08:20", YEN, "zalo",
          "Mình muốn đổi địa chỉ nhận hàng cho đơn DH-90112.",
          [(5, "reply", "Dạ em đã đổi địa chỉ giao hàng cho chị."),
           (8, "solve", "đổi địa chỉ"),
           (0, "survey", 5, 7, "")]),
    Story("lan2", 0, "08:45", LAN, "email",
          "Kỹ thuật viên đã đến, máy chạy tốt rồi. Cảm ơn bên mình nhiều.",
          [(10, "reply", "Cảm ơn chị Lan đã tin dùng sản phẩm ạ!"), (12, "solve", "cảm ơn")],
          subject="Cảm ơn"),
    Story("bao2", 0, "09:10", BAO, "zalo",
          "Đơn mới của mình lại giao trễ, lần này là đơn DH-90555.",
          [(25, "reply", "Dạ em đang kiểm tra với đơn vị vận chuyển ạ.")]),
    Story("minh2", 0, "09:40", MINH, "facebook", "Cho mình hỏi chương trình tích điểm đổi quà.", []),
    Story("kevin2", 0, "10:05", KEVIN, "whatsapp",
          "Can I exchange the headphones for the wireless model instead?",
          [(15, "pending", "waiting for the customer's choice")]),
]

# --- HTTP ------------------------------------------------------------------------


class DemoError(Exception):
    pass


class Api:
    def __init__(self, env):
        self.url = env["CAREBUS_API_URL"].rstrip("/")
        self.key = env["CAREBUS_API_KEY"]
        self.survey_url = env.get("CAREBUS_SURVEY_URL", "").rstrip("/")
        self.dashboard_url = env.get("CAREBUS_DASHBOARD_URL", "").rstrip("/")
        self.desk_url = env.get("CAREBUS_DESK_URL", "").rstrip("/")
        self.written = 0  # 201/202 answers: what this run changed
        self.lock = threading.Lock()

    def call(self, method, url, body=None, headers=None, auth=True, ok=(200, 201, 202)):
        """JSON in and out; retries 429/503 as Retry-After says, a refused
        connection briefly. Returns (status, answer); other statuses raise,
        unless listed in ok."""
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Accept": "application/json"}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if auth:
            hdrs["Authorization"] = f"Bearer {self.key}"
        hdrs.update(headers or {})
        for attempt in range(8):
            req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status, text, retry = r.status, r.read(), None
            except urllib.error.HTTPError as e:
                status, text, retry = e.code, e.read(), e.headers.get("Retry-After")
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                if attempt == 7:
                    raise DemoError(f"{method} {url}: {e}") from None
                time.sleep(0.5)
                continue
            if status in (429, 503) and attempt < 7:
                time.sleep(min(float(retry or 1), 5))
                continue
            break
        answer = json.loads(text) if text and text[:1] in (b"{", b"[") else text
        if status not in ok:
            raise DemoError(f"{method} {url} answered {status}: {answer}")
        if status in (201, 202):
            with self.lock:
                self.written += 1
        return status, answer

    def post(self, path, body, key):
        return self.call("POST", self.url + path, body, {"Idempotency-Key": key})[1]

    def put(self, path, body, key):
        return self.call("PUT", self.url + path, body, {"Idempotency-Key": key})[1]

    def get(self, path):
        return self.call("GET", self.url + path)[1]


def wait_for(what, fn, timeout=WAIT_S):
    """fn() once it is true, asked every 0.1 s until the deadline."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout * 10) + 1):
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise DemoError(f"timed out after {timeout}s waiting for {what}")


# --- playing a story ---------------------------------------------------------------


def iso(t):
    return t.isoformat(timespec="seconds")


def start_of(story, now):
    """The story's first contact: its day and clock, a day earlier while its
    last step would still be in the future (a demo run early in the morning)."""
    hh, mm = map(int, story.clock.split(":"))
    span = dt.timedelta(minutes=max([s[0] for s in story.steps] + [0]) + 2)
    for days in range(story.days, story.days + 8):  # the longest story spans 4 days
        day = (now - dt.timedelta(days=days)).date()
        t = dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=VN)
        if t + span < now:
            return t
    raise AssertionError(f"story {story.key} ends after now")


class Player:
    def __init__(self, api, now):
        self.api, self.now = api, now
        self.team_agent = {}
        for aid, _, teams, _ in AGENTS:
            for t in teams:
                self.team_agent.setdefault(t, aid)

    def ticket(self, tid):
        return self.api.get(f"/v1/tickets/{tid}")

    def routed(self, event_id):
        ev = self.api.get(f"/v1/events/{event_id}")
        return ev.get("ticket_id")

    def contact(self, story, n, channel, text, at):
        c = story.customer
        customer = {k: c[k] for k in ("name", "phone", "email") if c[k]}
        if channel in c["handles"]:
            customer["handle"] = c["handles"][channel]
        ext = f"demo-{story.key}-{n}"
        if story.call and n == 0:
            ans = at + dt.timedelta(seconds=story.call["answered_after_s"])
            end = ans + dt.timedelta(seconds=story.call["duration_s"])
            body = {"caller": c["phone"], "agent_id": story.call["agent"], "started_at": iso(at),
                    "answered_at": iso(ans), "ended_at": iso(end), "outcome": "answered",
                    "external_id": ext, "note": text, "occurred_at": iso(at)}
            return self.api.post("/v1/calls", body, ext)["event_id"]
        body = {"channel": channel, "external_id": ext, "customer": customer, "text": text,
                "occurred_at": iso(at)}
        if story.subject and channel == "email":
            body["subject"] = story.subject
        return self.api.post("/v1/messages", body, ext)["event_id"]

    def agent_of(self, tid, team=None):
        """The ticket's assignee once routed (to team, after a transfer), or
        an agent of its team when every one of them is busy."""
        def placed():
            t = self.ticket(tid)
            return t if team is None or t.get("team") == team else None

        t = wait_for(f"ticket {tid} on team {team}", placed)
        return t.get("assignee") or self.team_agent.get(t.get("team") or "support", "agent-mai")

    def play(self, story):
        start = start_of(story, self.now)
        at = lambda m: iso(start + dt.timedelta(minutes=m))  # noqa: E731
        event = self.contact(story, 0, story.channel, story.text, start)
        tid = wait_for(f"the ticket of {story.key}", lambda: self.routed(event))
        agent = self.agent_of(tid)
        if story.customer["segment"]:
            cid = self.ticket(tid)["customer_id"]
            self.api.put(f"/v1/customers/{cid}", {"segment": story.customer["segment"],
                                                  "occurred_at": at(0)}, f"demo-{story.key}-seg")
        survey = None
        for n, step in enumerate(story.steps, 1):
            m, kind, args = step[0], step[1], step[2:]
            key = f"demo-{story.key}-{n}"
            path = f"/v1/tickets/{tid}"
            if kind == "reply":
                self.api.post(path + "/replies", {"agent_id": agent, "text": args[0],
                                                  "channel": story.channel, "occurred_at": at(m)}, key)
            elif kind == "note":
                self.api.post(path + "/replies", {"agent_id": agent, "text": args[0],
                                                  "internal_note": True, "occurred_at": at(m)}, key)
            elif kind == "transfer":
                self.api.post(path + "/transfer", {"team": args[0], "reason": args[1],
                                                   "actor": agent, "occurred_at": at(m)}, key)
                agent = self.agent_of(tid, args[0])
            elif kind in ("pending", "solve"):
                self.api.post(path + "/status", {"status": "solved" if kind == "solve" else kind,
                                                 "reason": args[0], "actor": agent,
                                                 "occurred_at": at(m)}, key)
            elif kind == "contact":
                self.contact(story, n, args[0], args[1], start + dt.timedelta(minutes=m))
            elif kind == "churned":
                cid = self.ticket(tid)["customer_id"]
                self.api.put(f"/v1/customers/{cid}", {"status": "churned",
                                                      "attributes": {"churn_reason": args[0]},
                                                      "occurred_at": at(m)}, key)
            elif kind == "survey":
                survey = args
        answered = self.answer_survey(story, tid, survey) if survey else None
        return tid, answered

    def answer_survey(self, story, tid, answer):
        """The ticket's survey, once requested, answered by the customer."""
        def requested():
            s = self.ticket(tid).get("survey")
            return s if s and s.get("status") in ("requested", "answered") else None
        s = wait_for(f"the survey of {story.key}", requested)
        if s["status"] == "answered":
            return "answered before"
        token = s["link"].rstrip("/").rsplit("/", 1)[-1]
        base = self.api.survey_url or s["link"].rsplit("/s/", 1)[0]
        csat, ces, comment = answer
        body = {"csat": csat, "ces": ces}
        if comment:
            body["comment"] = comment
        status, _ = self.api.call("POST", f"{base}/v1/surveys/{token}/answer", body, auth=False,
                                  ok=(201, 409))
        return f"CSAT {csat}, CES {ces}" if status == 201 else "answered before"


# --- the run -------------------------------------------------------------------------


def by_customer(stories, now):
    """The stories of each customer, oldest first: one customer's contacts
    must reach the router in their order (a contact after a solve reopens)."""
    groups = {}
    for s in stories:
        groups.setdefault(id(s.customer), []).append(s)
    return [sorted(g, key=lambda s: start_of(s, now)) for g in groups.values()]



def var_dir():
    return Path(os.environ.get("CAREBUS_VAR_DIR", ROOT / "var"))


def desk_password():
    """The demo agents' desk password: made once into var/demo-password
    (readable by its owner only), the same on every later run."""
    path = var_dir() / "demo-password"
    if not path.is_file():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(12) + "\n")
    return path.read_text().strip()


def give_desk_passwords(api, password):
    """PATCH each agent: the password (and the supervisor's role) only, so
    the teams, leads and capacity their presence gave stay theirs. Keyed
    by the password, so a new var/demo-password is saved and an old one is
    not saved again."""
    tag = hashlib.sha256(password.encode()).hexdigest()[:12]
    for aid, *_ in AGENTS:
        body = {"password": password}
        if aid == SUPERVISOR:
            body["role"] = "supervisor"
        api.call("PATCH", f"{api.url}/v1/agents/{aid}", body,
                 {"Idempotency-Key": f"demo-desk-{aid}-{tag}"})


def read_env():
    path = var_dir() / "env"
    if not path.is_file():
        raise DemoError(f"no {path}: start the stack first with `make run` (in another terminal)")
    env = {}
    for line in path.read_text().splitlines():
        name, eq, value = line.partition("=")
        if eq and not line.startswith("#") and name.strip().isidentifier():
            env[name.strip()] = value.strip().strip("'")
    for need in ("CAREBUS_API_URL", "CAREBUS_API_KEY"):
        if not env.get(need):
            raise DemoError(f"{need} missing in {path}")
    return env


def kpis(api, now):
    """The dashboard's default period (the last 30 days), as one row."""
    to = now.date()
    q = urllib.parse.urlencode({"from": str(to - dt.timedelta(days=29)), "to": str(to),
                                "group_by": "all"})
    _, rows = api.call("GET", f"{api.dashboard_url}/v1/kpis?{q}")
    rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    return rows[0] if rows else {}


SHOWN = [  # the dashboard's tiles whose value can be missing
    ("fcr_pct", "FCR %"), ("csat_pct", "CSAT %"), ("ces_avg", "CES"),
    ("survey_response_pct", "survey response %"), ("first_response_avg_s", "first response (avg s)"),
    ("resolution_avg_s", "resolution (avg s)"), ("sla_compliance_pct", "SLA compliance %"),
    ("churn_pct", "churn %"), ("contacts_per_ticket", "contacts per ticket"),
]


def main():
    try:
        env = read_env()
        api = Api(env)
        api.call("GET", api.url + "/readyz", auth=False)
    except DemoError as e:
        sys.exit(f"demo: {e}")
    except Exception as e:  # noqa: BLE001 — anything else means the same to a newcomer
        sys.exit(f"demo: the stack is not up ({e}); start it with `make run` and wait for \"ready\"")

    now = dt.datetime.now(VN) - dt.timedelta(minutes=2)
    began = time.monotonic()
    print(f"Playing a week at the care desk on {api.url}")
    try:
        for aid, name, teams, leads in AGENTS:
            api.put(f"/v1/agents/{aid}/presence",
                    {"presence": "online", "capacity": 8, "teams": teams, "leads": leads,
                     "name": name, "occurred_at": iso(now - dt.timedelta(days=60))},
                    f"demo-presence-{aid}")
        print(f"  {len(AGENTS)} agents online")
        give_desk_passwords(api, desk_password())
        player = Player(api, now)
        out = threading.Lock()

        def play_all(stories):
            for s in stories:
                tid, survey = player.play(s)
                when = start_of(s, now).strftime("%a %d/%m %H:%M")
                with out:
                    print(f"  {when}  {s.channel:<10} {s.customer['name']:<20} ticket {tid}"
                          + (f"  survey: {survey}" if survey else ""), flush=True)

        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            for f in [pool.submit(play_all, g) for g in by_customer(STORIES, now)]:
                f.result()
    except DemoError as e:
        sys.exit(f"demo: {e}")

    row = {}
    if api.dashboard_url:
        def complete():
            nonlocal row
            row = kpis(api, now)
            return all(row.get(k) is not None for k, _ in SHOWN)
        try:
            wait_for("analytics to count everything", complete)
        except DemoError as e:
            print(f"demo: {e}; the dashboard may still be filling", file=sys.stderr)
    changed = "nothing new (already played)" if api.written == 0 else f"{api.written} writes"
    print(f"\nDone in {time.monotonic() - began:.1f}s: {len(STORIES)} stories, {changed}.")
    if row:
        print("  " + ", ".join(f"{label} {row[k]:.4g}" if isinstance(row.get(k), (int, float))
                               else f"{label} -" for k, label in SHOWN))
    print(f"""
The dashboard: {api.dashboard_url or '(see make run)'}/  (sign in with $CAREBUS_API_KEY)
The agent desk: {api.desk_url or '(see make run)'}/  (sign in as {SUPERVISOR}, a supervisor, or
  {", ".join(a[0] for a in AGENTS if a[0] != SUPERVISOR)},
  with the password in {var_dir() / "demo-password"})
The SLA monitor keeps time by the clock: replies posted now for the days
before count as late, so the replayed week shows breaches.
Look around (from another shell in the repository):
  . var/env
  curl -sS -H "Authorization: Bearer $CAREBUS_API_KEY" "$CAREBUS_API_URL/v1/customers?phone=0901234567"
     (Nguyễn Thị Lan wrote on zalo, phone and email: one customer, one history)
  psql "$CAREBUS_PG" -c "SELECT day, contacts, tickets_solved, fcr_pct, csat_pct FROM bi.kpi_daily
                         WHERE dimension = 'all' AND day <= current_date ORDER BY day DESC LIMIT 7"
""")


if __name__ == "__main__":
    main()
