"""lists.py — the reads of 60-lists.part.sh, at a fixed offered rate.

    /usr/bin/python3 tests/bench/lists.py BASE_URL KEY CONNINFO

For each filter and order of GET /v1/tickets, LISTS_BENCH_REQUESTS (100)
requests at LISTS_BENCH_RATE (40) per second: a first page, then up to
three next pages through their cursors, with values drawn (seeded) over
the data; then the search, LISTS_BENCH_SEARCHES (300) requests at
LISTS_BENCH_SEARCH_RATE (20) per second over words of every frequency; then
the queues and the customers' search. LISTS_BENCH_PARTS (lists,search,
others) picks some of the three; LISTS_BENCH_FILTERS (names separated by
"|", e.g. "sla=within|assignee") some of the lists' filters. A request's latency runs from the instant
it was due, not from when it was sent: a stall delays every request after
it, and shows (no coordinated omission). Requests are sent by a small pool of threads, each on its own
keep-alive connection. Prints one line per measure and the targets met or
missed; exits non-zero only when a request failed.
"""

import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from queue import Queue

import psycopg2

BASE, KEY, CONNINFO = sys.argv[1], sys.argv[2], sys.argv[3]
REQUESTS = int(os.environ.get("LISTS_BENCH_REQUESTS", "100"))
RATE = float(os.environ.get("LISTS_BENCH_RATE", "40"))
SEARCHES = int(os.environ.get("LISTS_BENCH_SEARCHES", "300"))
SEARCH_RATE = float(os.environ.get("LISTS_BENCH_SEARCH_RATE", "20"))
# Which measures: lists, search, others (queues, customers); all by default.
PARTS = os.environ.get("LISTS_BENCH_PARTS", "lists,search,others").split(",")
ONLY = [f for f in os.environ.get("LISTS_BENCH_FILTERS", "").split("|") if f]
THREADS = 8
PAGES = 4
LIST_TARGET_MS, SEARCH_TARGET_MS = 20, 100

host, port = urllib.parse.urlsplit(BASE).netloc.split(":")
rng = random.Random(11)
failures = []


class Client(threading.local):
    def get(self, path):
        for attempt in range(2):
            if not hasattr(self, "c"):
                self.c = http.client.HTTPConnection(host, int(port), timeout=60)
            try:
                self.c.request("GET", path, headers={"Authorization": f"Bearer {KEY}"})
                r = self.c.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.c.close()
                del self.c
                if attempt:
                    raise


client = Client()


def run(paths, rate):
    """Offers the requests made by paths (a generator of callables that
    return a path, given the previous answer of their chain) at `rate` per
    second; returns the latencies in ms from each one's due time."""
    jobs, out, lock = Queue(), [], threading.Lock()

    def worker():
        while True:
            job = jobs.get()
            if job is None:
                return
            due, path, done = job
            try:
                status, body = client.get(path)
            except Exception as e:  # noqa: BLE001 - counted, reported
                status, body = 0, str(e).encode()
            ms = (time.monotonic() - due) * 1000
            with lock:
                out.append(ms)
                if status != 200:
                    failures.append((path, status, body[:200]))
            done(status, body)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    start = time.monotonic() + 0.05
    for i, (path, done) in enumerate(paths):
        due = start + i / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        jobs.put((due, path, done))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


def chained(make):
    """Requests of one filter: a first page from make(), then the next pages
    through their cursors (a chain's next request waits for its answer: the
    chains interleave, so the offered rate holds)."""
    chains = [{"path": None, "left": 0} for _ in range(PAGES)]
    lock = threading.Lock()
    for i in range(REQUESTS):
        ch = chains[i % PAGES]
        with lock:
            if ch["path"] is None or ch["left"] == 0:
                ch["path"], ch["left"] = make(), PAGES
            path = ch["path"]
            ch["left"] -= 1

        def done(status, body, ch=ch, base=make):
            nxt = None
            if status == 200:
                cur = json.loads(body).get("next_cursor")
                if cur and ch["path"]:
                    p = ch["path"].split("&cursor=")[0]
                    nxt = f"{p}&cursor={cur}"
            with lock:
                ch["path"] = nxt
                if nxt is None:
                    ch["left"] = 0

        yield path, done


db = psycopg2.connect(CONNINFO)
cur = db.cursor()
cur.execute("SELECT id::text FROM router.customers ORDER BY random() LIMIT 500")
customers = [r[0] for r in cur.fetchall()]
cur.execute("SELECT id::text FROM router.tickets ORDER BY random() LIMIT 500")
tickets = [r[0] for r in cur.fetchall()]
cur.execute("SELECT DISTINCT team FROM router.tickets WHERE team IS NOT NULL")
teams = [r[0] for r in cur.fetchall()]
cur.execute("SELECT max(created_at) FROM router.tickets")
end = cur.fetchone()[0]
db.close()
CHANNELS = ["zalo", "facebook", "phone", "email", "chat", "sms", "whatsapp", "instagram",
            "helpcenter", "tiktok", "twitter", "store"]
CATEGORIES = ["technical_support", "complaint", "product_info", "returns_warranty", "billing",
              "sales", "account", "other"]
TAGS = ["callback", "refund", "delivery-delay", "warranty", "vip-followup", "hotline",
        "fraud-check", "escalated", "feedback", "bug", "duplicate", "promo", "cod", "installment",
        "out-of-stock", "wrong-item", "damaged", "invoice", "otp", "password", "b2b",
        "loyalty-card", "survey-low", "press", "legal", "repeat", "north", "south", "central",
        "night-shift"]


def t(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def window(days_back, width):
    a = end - timedelta(days=rng.uniform(0, days_back))
    return t(a - timedelta(days=width)), t(a)


def lst(**params):
    return "/v1/tickets?" + urllib.parse.urlencode(dict(params, limit=25))


FILTERS = [
    ("no filter", lambda: lst()),
    ("status=open", lambda: lst(status="open")),
    ("status=open,pending", lambda: lst(status="open,pending")),
    ("status=closed", lambda: lst(status="closed")),
    ("team", lambda: lst(team=rng.choice(teams))),
    ("team+status=open", lambda: lst(team=rng.choice(teams), status="open")),
    ("assignee", lambda: lst(assignee=f"agent-{rng.randint(1, 200):03d}")),
    ("assignee+active", lambda: lst(assignee=f"agent-{rng.randint(1, 200):03d}",
                                    status="open,pending")),
    ("assignee=unassigned", lambda: lst(assignee="unassigned")),
    ("channel", lambda: lst(channel=rng.choice(CHANNELS))),
    ("priority", lambda: lst(priority=rng.choice(["low", "normal", "high", "urgent"]))),
    ("category", lambda: lst(category=rng.choice(CATEGORIES))),
    ("segment", lambda: lst(segment=rng.choice(["vip", "wholesale"]))),
    ("tag", lambda: lst(tag=rng.choice(TAGS))),
    ("customer_id", lambda: lst(customer_id=rng.choice(customers))),
    ("created range (7 days)", lambda: (lambda a, b: lst(created_from=a, created_to=b))(
        *window(700, 7))),
    ("updated range (last 2 days)+status=open,pending",
     lambda: lst(updated_from=t(end - timedelta(days=2)), status="open,pending")),
    ("due range (1 day)", lambda: (lambda a, b: lst(due_from=a, due_to=b))(*window(20, 1))),
    ("sla=breached", lambda: lst(sla="breached")),
    ("sla=warning", lambda: lst(sla="warning")),
    ("sla=within", lambda: lst(sla="within")),
    ("sort=updated+status=pending", lambda: lst(sort="updated", status="pending")),
    ("sort=updated+status=open,pending", lambda: lst(sort="updated", status="open,pending")),
    ("sort=created", lambda: lst(sort="created")),
    ("sort=due", lambda: lst(sort="due")),
    ("sort=due+team", lambda: lst(sort="due", team=rng.choice(teams))),
    ("sort=due+team+status=open", lambda: lst(sort="due", team=rng.choice(teams), status="open")),
    ("sort=due+team+assignee=unassigned",
     lambda: lst(sort="due", team=rng.choice(teams), assignee="unassigned")),
]

# Words by how often they occur in the generated texts: common phrases,
# product models and cities (1-3 %), names, order and warranty codes (one
# ticket), with and without diacritics, in both languages.
WORDS = ["khieu nai", "khiếu nại", "hoàn tiền", "hoan tien", "giao hàng chậm", "refund",
         "warranty", "đơn hàng", "KG100", "máy giặt", "may giat Electrolux", "Galaxy A54",
         "tủ lạnh Samsung", "Vinh", "Phan Thiết", "Buôn Ma Thuột", "Đà Lạt", "Hồ Chí Minh",
         "Thắng", "Quỳnh", "air fryer", "coffee machine", "Daikin", "khuyến mãi 20%",
         "mã OTP", "tai khoan bi khoa", "thái độ nhân viên", "trưởng nhóm"]


def search():
    r = rng.random()
    if r < 0.25:
        q = f"DH{1000000 + rng.randint(0, 999999):07d}"
    elif r < 0.35:
        q = f"BH{rng.randint(0, 999999):06d}"
    else:
        q = rng.choice(WORDS)
    return "/v1/tickets?" + urllib.parse.urlencode({"q": q}) + "&limit=25"


def report(name, xs, target=None, base=None):
    line = (f"lists: {name}: p50 {pct(xs, .5):.1f} ms, p99 {pct(xs, .99):.1f} ms, "
            f"max {max(xs):.1f} ms ({len(xs)} requests)")
    if target is not None:
        line += "" if pct(xs, .99) <= target else f"  MISSED (target p99 <= {target} ms)"
    print(line, flush=True)


# Baseline: one ticket by its key, through the same door.
if "lists" in PARTS:
    base = run(((f"/v1/tickets/{rng.choice(tickets)}", lambda s, b: None) for _ in range(REQUESTS)),
               RATE)
    report("baseline GET /v1/tickets/{id}", base)
    worst = 0.0
    for name, make in FILTERS:
        if ONLY and name not in ONLY:
            continue
        xs = run(chained(make), RATE)
        report(f"GET /v1/tickets {name}", xs, LIST_TARGET_MS)
        worst = max(worst, pct(xs, .99))
    print(f"lists: every filter: worst p99 {worst:.1f} ms (target <= {LIST_TARGET_MS} ms)", flush=True)
    # "updated" with nothing else: it read every ticket until the order had
    # indexes of its own (0016_router_updated_order.sql); still offered
    # slowly, so that a database without them is measured rather than queued.
    if not ONLY or "sort=updated alone" in ONLY:
        xs = run(((lst(sort="updated"), lambda s, b: None) for _ in range(10)), 1)
        report("GET /v1/tickets sort=updated alone (1 per second)", xs)

if "search" in PARTS:
    codes = run(((f"/v1/tickets?q=DH{1000000 + rng.randint(0, 999999):07d}", lambda s, b: None)
                 for _ in range(SEARCHES // 3)), SEARCH_RATE)
    report("baseline search for an order code (one message)", codes)
    xs = run(((search(), lambda s, b: None) for _ in range(SEARCHES)), SEARCH_RATE)
    report("search, words of every frequency", xs, SEARCH_TARGET_MS)


def common_search():
    q = urllib.parse.urlencode({"q": rng.choice(WORDS[:8]), "status": "open"})
    return f"/v1/tickets?{q}&limit=25"


def customer_search():
    q = rng.choice(["nguyen", "tran thi", "le van", "pham", "john", "0903", "+8498", "nguyen.",
                    "emma"])
    return "/v1/customers?" + urllib.parse.urlencode({"q": q})


if "search" in PARTS:
    common = run(((common_search(), lambda s, b: None) for _ in range(SEARCHES // 3)), SEARCH_RATE)
    report("search, common words with status=open", common, SEARCH_TARGET_MS)
if "others" in PARTS:
    queues = run((("/v1/queues", lambda s, b: None) for _ in range(REQUESTS // 2)), RATE / 4)
    report("GET /v1/queues", queues)
    cust = run(((customer_search(), lambda s, b: None) for _ in range(REQUESTS)), RATE)
    report("GET /v1/customers?q=", cust)

if failures:
    for f in failures[:5]:
        print("lists: failed:", f, file=sys.stderr)
    sys.exit(1)
