"""docs/openapi.yaml kept true: the document against channel-ingest itself.

  a. the document is well-formed OpenAPI 3 (every $ref resolves, every path
     parameter is declared, every operation documents its answers) and
     describes exactly the routes of services/channel-ingest/routes.c plus
     the built-in /healthz, /readyz and /metrics; every route of the table
     states its scope, and each operation's x-scope is that scope (public
     exactly when it takes no key)
  b. every documented operation, on a running stack: its route exists (an
     undocumented method gets 405 with the documented methods in Allow); its
     valid example answers the documented success with the documented
     schema (and a repeat 200 with the same body, for writes); each invalid
     example answers its x-status naming its x-field; no key answers 401,
     an unknown id 404, a wrong content type 415, when documented; a key
     without the operation's scope 403 naming it; and every status seen is
     one the document lists for that operation
  c. the webhooks: 404 while a channel is not configured, 401 for an
     unsigned POST once it is, the Meta handshake's 200 and 403

Examples in the document carry extensions for this test: `x-status` (the
answer an invalid example gets), `x-field` (the field its error names) and
`x-ids` (body fields the test fills with ids of its own making: a ticket to
merge into, a customer to merge); an operation's `x-path-id` names the id
its path takes instead of the usual one (a merged customer, to unmerge),
and one answered once its event is applied says its success with
`x-success` (its 202 is for a late router only). python3-yaml parses the
document (deploy/scripts/deps.sh).
"""

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import yaml

import carebus_harness as h
from test_ingest_api import new_key

SPEC_PATH = h.REPO / "docs" / "openapi.yaml"
ROUTES_C = h.REPO / "services" / "channel-ingest" / "routes.c"
METHODS = ("get", "put", "post", "delete", "patch")
BUILTINS = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}

SEED = {
    "channel": "zalo",
    "external_id": "openapi-seed",
    "customer": {"name": "Lan", "phone": "0901234567", "handle": "zalo-uid-1"},
    "text": "seed",
}

# courier runs: a subscription to events that never occur here gets no
# deliveries, so its counters stay still between a write and its repeat (and
# nothing is sent off the machine).
SUBSCRIPTION = {"url": "http://127.0.0.1:9/hooks/carebus", "event_types": ["sla.breach"]}

CANNED = {"title": "Hello", "text": "Chào {customer_name}, phiếu {ticket_number}."}

# Webhook secrets, by the variables the issue names.
WEBHOOK_ENV = {
    "CAREBUS_FACEBOOK_APP_SECRET": "fb-secret",
    "CAREBUS_FACEBOOK_VERIFY_TOKEN": "fb-token",
    "CAREBUS_WHATSAPP_APP_SECRET": "wa-secret",
    "CAREBUS_WHATSAPP_VERIFY_TOKEN": "wa-token",
    "CAREBUS_ZALO_APP_ID": "zalo-app",
    "CAREBUS_ZALO_OA_SECRET": "zalo-secret",
    "CAREBUS_TWILIO_AUTH_TOKEN": "twilio-token",
    "CAREBUS_PUBLIC_URL": "https://carebus.example",
}


@pytest.fixture(scope="module")
def spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(spec, node):
    """Follows "#/components/..." references until a plain node."""
    for _ in range(20):
        if not isinstance(node, dict) or "$ref" not in node:
            return node
        ref = node["$ref"]
        assert ref.startswith("#/"), f"external $ref {ref!r}"
        node = spec
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"$ref {ref!r} does not resolve"
            node = node[part]
    raise AssertionError("$ref loop")


def schema_problems(spec, value, schema, where="body"):
    """What in value does not fit schema (the subset of JSON Schema the
    document uses: type, nullable, enum, required, properties,
    additionalProperties, items, format uuid, oneOf, allOf)."""
    schema = resolve(spec, schema or {})
    if "allOf" in schema:
        return [p for part in schema["allOf"] for p in schema_problems(spec, value, part, where)]
    if "oneOf" in schema:
        tried = [schema_problems(spec, value, alt, where) for alt in schema["oneOf"]]
        return [] if any(not t for t in tried) else [f"{where} fits none of oneOf: {tried}"]
    if value is None:
        return [] if schema.get("nullable") or "type" not in schema else [f"{where} is null"]
    t = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t in checks and not isinstance(value, checks[t]):
        return [f"{where}: {type(value).__name__}, want {t}"]
    if t == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return [f"{where}: {value!r} is not an integer"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    if schema.get("format") == "uuid":
        try:
            uuid.UUID(value)
        except (ValueError, TypeError, AttributeError):
            return [f"{where}: {value!r} is not a UUID"]
    out = []
    if isinstance(value, dict):
        for k in schema.get("required", []):
            if k not in value:
                out.append(f"{where}: missing required {k!r}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                out += schema_problems(spec, v, props[k], f"{where}.{k}")
            elif isinstance(extra, dict):
                out += schema_problems(spec, v, extra, f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            out += schema_problems(spec, v, schema["items"], f"{where}[{i}]")
    return out


def operations(spec):
    for path, item in spec["paths"].items():
        for m in METHODS:
            if m in item:
                yield path, m, item[m], item


def route_scopes():
    """{(METHOD, "/v1/tickets/{id}"): "read"} from routes.c's table (the
    access column: SCOPE_READ -> "read", SCOPE_PUBLIC -> "public")."""
    text = ROUTES_C.read_text()
    rows = re.findall(r'\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*\w+\s*(?:,\s*([^}]*?))?\s*\}', text)
    assert rows, "no routes found in routes.c"
    out = {}
    for method, pattern, access in rows:
        route = (method, re.sub(r":(\w+)", r"{\1}", pattern))
        scopes = re.findall(r"\bSCOPE_([A-Z]+)\b", access or "")
        assert len(scopes) == 1, f"{route}: the access column must state one scope, has {access!r}"
        out[route] = scopes[0].lower()
    return out


def route_audited():
    """The routes whose access column has AUDIT_READ (audit.h)."""
    rows = re.findall(r'\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*\w+\s*,\s*([^}]*?AUDIT_READ[^}]*?)\}',
                      ROUTES_C.read_text())
    assert rows, "no audited routes found in routes.c"
    return {(m, re.sub(r":(\w+)", r"{\1}", p)) for m, p, _ in rows}


def route_table():
    """{(METHOD, "/v1/tickets/{id}")} from routes.c's table."""
    return set(route_scopes())


# --- a. the document itself ---------------------------------------------------------------


def test_the_document_is_openapi_3_and_describes_exactly_the_route_table(spec):
    assert str(spec.get("openapi", "")).startswith("3."), spec.get("openapi")
    assert spec["info"]["title"] and spec["info"]["version"]

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(spec, node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    documented = set()
    for path, m, op, item in operations(spec):
        documented.add((m.upper(), path))
        assert op.get("responses"), f"{m} {path}: no responses"
        assert op.get("operationId"), f"{m} {path}: no operationId"
        params = [resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
        declared = {p["name"] for p in params if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), f"{m} {path}: path parameters"
        for code, resp in op["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", str(code)), f"{m} {path}: status {code!r}"
            assert resolve(spec, resp).get("description"), f"{m} {path} {code}: no description"
    ids = [op["operationId"] for _, _, op, _ in operations(spec)]
    assert len(ids) == len(set(ids)), "duplicate operationId"
    want = route_table() | BUILTINS
    assert documented == want, (f"undocumented routes: {sorted(want - documented)}; "
                                f"documented but not routed: {sorted(documented - want)}")
    # Each operation's scope is the table's; public exactly when it takes no key.
    scopes = {**route_scopes(), **{b: "public" for b in BUILTINS}}
    for path, m, op, _ in operations(spec):
        route = (m.upper(), path)
        assert op.get("x-scope") == scopes[route], (
            f"{m} {path}: x-scope {op.get('x-scope')!r}, routes.c says {scopes[route]!r}")
        keyless = op.get("security", spec.get("security")) == []
        assert keyless == (scopes[route] == "public"), f"{m} {path}: security vs x-scope"
        if not keyless:
            assert "403" in op["responses"], f"{m} {path}: a scope but no 403 documented"
    # The reads an admin key makes with a reason, recorded: the table's
    # AUDIT_READ flag, each operation's x-audited.
    audited = route_audited()
    for path, m, op, _ in operations(spec):
        route = (m.upper(), path)
        assert bool(op.get("x-audited")) == (route in audited), f"{m} {path}: x-audited"


# --- b. each operation against the service -----------------------------------------------


class Checker:
    def __init__(self, spec, st, ids, keys=None):
        self.spec, self.st, self.ids = spec, st, ids
        self.keys = keys or {}  # scope -> a key that has only that scope
        self.problems = []
        self.seen = {}  # (method, path) -> statuses seen

    def fill(self, path, unknown=False, method=None, op=None):
        def one(_m):
            if unknown:
                return str(uuid.uuid4())
            if op and op.get("x-path-id"):
                return self.ids[op["x-path-id"]]
            if path.startswith("/v1/webhook-subscriptions/"):
                # DELETE gets a subscription of its own: the others go on.
                return self.ids["subscription" + ("-deleted" if method == "delete" else "")]
            if path.startswith("/v1/canned-replies/"):
                return self.ids["canned" + ("-deleted" if method == "delete" else "")]
            if path.startswith("/v1/keys/"):
                return self.ids["key" + ("-deleted" if method == "delete" else "")]
            for prefix, key in (("/v1/tickets/", "ticket"), ("/v1/customers/", "customer"),
                                ("/v1/events/", "event"), ("/v1/agents/", "agent"),
                                ("/v1/teams/", "team")):
                if path.startswith(prefix):
                    return self.ids[key]
            raise AssertionError(f"no id for {path}")

        return re.sub(r"\{id\}", one, path)

    def request(self, m, path, op, concrete, body=None, headers=None, auth=True, query=""):
        hdrs = dict(self.st.auth()) if auth else {}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        r = h.http_request(self.st.api_url + concrete + query, m.upper(), body, hdrs, timeout=15)
        self.seen.setdefault((m, path), set()).add(r.status)
        if str(r.status) not in op["responses"]:
            self.problems.append(f"{m.upper()} {concrete}{query}: {r.status} is not documented "
                                 f"({sorted(op['responses'])}): {r}")
        return r

    def expect(self, what, r, status, op, field=None):
        if r.status != status:
            self.problems.append(f"{what}: {r.status}, want {status}: {r}")
            return None
        resp = resolve(self.spec, op["responses"].get(str(status), {}))
        content = resp.get("content", {})
        if "application/json" in content:
            try:
                body = r.json()
            except h.HarnessError as e:
                self.problems.append(f"{what}: {e}")
                return None
            for p in schema_problems(self.spec, body, content["application/json"].get("schema")):
                self.problems.append(f"{what}: {p}")
            if field is not None and (body.get("error") or {}).get("field") != field:
                self.problems.append(f"{what}: error.field {body.get('error', {}).get('field')!r}, "
                                     f"want {field!r}")
            for name in resolve(self.spec, resp).get("headers", {}):
                if name.lower() in ("retry-after", "www-authenticate") and not r.header(name):
                    self.problems.append(f"{what}: no {name} header")
            return body
        return r.body


def with_ids(c, example):
    """The example's value, its x-ids fields set to the checker's ids."""
    value = example["value"]
    if isinstance(value, dict) and example.get("x-ids"):
        value = dict(value, **{k: c.ids[v] for k, v in example["x-ids"].items()})
    return value


def json_examples(op):
    content = (op.get("requestBody") or {}).get("content", {})
    return content.get("application/json", {}).get("examples", {}), "application/json" in content


def check_route_exists(c, path, item):
    """An undocumented method on the path: 405 listing the documented ones."""
    documented = {m.upper() for m in METHODS if m in item}
    other = next(m for m in ("DELETE", "PATCH", "PUT", "POST") if m not in documented)
    concrete = c.fill(path) if "{id}" in path else path
    r = h.http_request(c.st.api_url + concrete, other, headers=c.st.auth(), timeout=10)
    allow = {a.strip() for a in (r.header("allow") or "").split(",") if a.strip()}
    if r.status != 405 or allow != documented:
        c.problems.append(f"{path}: {other} gave {r.status} Allow {sorted(allow)}, want 405 "
                          f"with {sorted(documented)}")


def check_operation(c, path, m, op):
    spec, st = c.spec, c.st
    secured = op.get("security", spec.get("security")) != []
    concrete = c.fill(path, method=m, op=op) if "{id}" in path else path
    what = f"{m.upper()} {path}"
    examples, takes_json = json_examples(op)
    codes = op["responses"]
    # The documented success: 202 (or 201, 204) for a first write, else 200;
    # x-success when the operation says (an answer once applied, 202 only
    # when the router is late).
    success = int(op.get("x-success") or next(
        (code for code in sorted(codes) if code.startswith("2") and code != "200"), "200"))

    if path == "/v1/customers" and m == "get":  # the look-up: query parameters, not a body
        q = {p["name"]: p.get("example") for p in map(lambda p: resolve(spec, p), op["parameters"])}
        r = c.request(m, path, op, concrete, query=f"?phone={q['phone']}")
        c.expect(f"{what} ?phone", r, 200, op)
        r = c.request(m, path, op, concrete, query="?phone=0909999999")
        c.expect(f"{what} unknown phone", r, 404, op)
        r = c.request(m, path, op, concrete, query="")
        c.expect(f"{what} no handle", r, 400, op, field="phone")
        page = c.expect(f"{what} ?q", c.request(m, path, op, concrete, query=f"?q={q['q']}"),
                        200, op)
        if page is not None and not page.get("items"):
            c.problems.append(f"{what} ?q={q['q']}: no customer found: {page}")
    elif path == "/v1/canned-replies/{id}/render":  # a query naming the ticket
        ticket = f"?ticket_id={c.ids['ticket']}"
        r = c.request(m, path, op, concrete, query=ticket)
        c.expect(f"{what} ?ticket_id", r, 200, op)
        r = c.request(m, path, op, c.fill(path, unknown=True), query=ticket)
        c.expect(f"{what} unknown id", r, 404, op)
        r = c.request(m, path, op, concrete, query="")
        c.expect(f"{what} no ticket_id", r, 400, op, field="ticket_id")
    elif path == "/v1/customers/{id}/export":  # a query giving the reason
        why = "?reason=openapi"
        r = c.request(m, path, op, concrete, query=why)
        c.expect(f"{what} ?reason", r, 200, op)
        r = c.request(m, path, op, c.fill(path, unknown=True), query=why)
        c.expect(f"{what} unknown id", r, 404, op)
        r = c.request(m, path, op, concrete, query="")
        c.expect(f"{what} no reason", r, 400, op, field="reason")
    elif path == "/v1/customer-imports":  # NDJSON or CSV, not JSON
        content = op["requestBody"]["content"]
        for ctype in ("application/x-ndjson", "text/csv"):
            body = content[ctype]["example"] + ("{\"phone\": \"x\"}\n" if "json" in ctype
                                                 else ",not a phone,,,,\n")
            r = c.request(m, path, op, concrete, body, headers={"Content-Type": ctype})
            rep = c.expect(f"{what} {ctype}", r, 200, op)
            if rep is not None and (rep["failed"], rep["errors"][0]["field"]) != (1, "phone"):
                c.problems.append(f"{what} {ctype}: report {rep}")
        r = c.request(m, path, op, concrete, "name,fax\n", headers={"Content-Type": "text/csv"})
        c.expect(f"{what} unknown column", r, 400, op, field="fax")
        r = c.request(m, path, op, concrete, "{}", headers={"Content-Type": "text/plain"})
        c.expect(f"{what} text/plain", r, 415, op)
    elif path == "/v1/sessions/current":  # a session's own key reads or signs it out
        valid = json_examples(spec["paths"]["/v1/sessions"]["post"])[0]["valid"]["value"]
        r = h.http_request(st.api_url + "/v1/sessions", "POST", valid, timeout=15)
        assert r.status == 201, r
        session = {"Authorization": f"Bearer {r.json()['key']}"}
        r = c.request(m, path, op, concrete, headers=session, auth=False)
        c.expect(f"{what} with the session's key", r, success, op)
        if m == "delete":
            r = c.request(m, path, op, concrete, headers=session, auth=False)
            c.expect(f"{what} signed out already", r, 401, op)
        else:
            r = h.http_request(st.api_url + path, "DELETE", headers=session, timeout=15)
            assert r.status == 204, r
            r = c.request(m, path, op, concrete, headers=session, auth=False)
            c.expect(f"{what} signed out", r, 401, op)
        r = c.request(m, path, op, concrete)
        c.expect(f"{what} with a key that is not a session's", r, 404, op)
    elif takes_json:
        valid = examples.get("valid")
        assert valid, f"{what}: no 'valid' example"
        key = {"Idempotency-Key": f"openapi-{uuid.uuid4()}"}
        r = c.request(m, path, op, concrete, with_ids(c, valid), headers=key)
        first = c.expect(f"{what} valid example", r, success, op)
        if first is not None and "200" in codes:
            again = c.request(m, path, op, concrete, with_ids(c, valid), headers=key)
            if c.expect(f"{what} repeat", again, 200, op) is not None and again.body != r.body:
                c.problems.append(f"{what}: repeat body {again.body!r} != first {r.body!r}")
        for name, ex in examples.items():
            if "x-status" in ex:
                r = c.request(m, path, op, concrete, ex["value"])
                c.expect(f"{what} example {name!r}", r, int(ex["x-status"]), op,
                         field=ex.get("x-field"))
        if "415" in codes:
            r = c.request(m, path, op, concrete, json.dumps(valid["value"]),
                          headers={"Content-Type": "text/plain"})
            c.expect(f"{what} text/plain", r, 415, op)
        if "{id}" in path and "404" in codes:
            unknown = c.fill(path, unknown=True)
            r = c.request(m, path, op, unknown, with_ids(c, valid))
            c.expect(f"{what} unknown id", r, 404, op)
    else:
        r = c.request(m, path, op, concrete)
        c.expect(f"{what}", r, success, op)
        if "{id}" in path and "404" in codes:
            r = c.request(m, path, op, c.fill(path, unknown=True))
            c.expect(f"{what} unknown id", r, 404, op)
            r = c.request(m, path, op, path.replace("{id}", "not-a-uuid"))
            c.expect(f"{what} malformed id", r, 404, op)
    if secured and c.keys:
        # A key without the operation's scope: 403 naming it.
        scope = op["x-scope"]
        other = next(k for s, k in c.keys.items() if s != scope)
        body = with_ids(c, examples["valid"]) if takes_json else None
        r = c.request(m, path, op, concrete, body, auth=False,
                      headers={"Authorization": f"Bearer {other}"})
        err = c.expect(f"{what} without the {scope} scope", r, 403, op)
        if err is not None and err["error"].get("scope") != scope:
            c.problems.append(f"{what}: 403 names scope {err['error'].get('scope')!r}, "
                              f"want {scope!r}")
    if secured:
        assert "401" in codes, f"{what}: secured but 401 not documented"
        body = examples.get("valid", {}).get("value") if takes_json else None
        r = c.request(m, path, op, concrete, body, auth=False)
        c.expect(f"{what} without a key", r, 401, op)
        r = c.request(m, path, op, concrete, body, headers={"Authorization": "Bearer wrong"},
                      auth=False)
        c.expect(f"{what} with a wrong key", r, 401, op)


def merge_ids(st, seed):
    """What the merges' examples need: a second ticket of the seed's
    customer (the seed solved, then a contact after the reopen window), a
    customer to merge into the seed's, and one merged into another."""
    def post(body):
        r = h.http_request(st.api_url + "/v1/messages", "POST", body, st.auth(), timeout=15)
        assert r.status == 202, r
        event_id = r.json()["event_id"]

        def routed():
            ev = st.get_api(f"/v1/events/{event_id}").json()
            return ev if ev.get("ticket_id") and ev.get("customer_id") else None

        return h.wait_until(f"{event_id} routed", routed, h.scaled(10), interval=0.02)

    r = h.http_request(st.api_url + f"/v1/tickets/{seed['ticket_id']}/status", "POST",
                       {"status": "solved"}, st.auth(), timeout=15)
    assert r.status == 202, r
    later = (datetime.now(timezone.utc) + timedelta(days=8)).isoformat()
    second = post(dict(SEED, external_id="openapi-second", occurred_at=later))
    assert second["ticket_id"] != seed["ticket_id"], "the seed's ticket reopened"
    other = post({"channel": "chat", "external_id": "openapi-other", "text": "hi",
                  "customer": {"handle": "openapi-other"}})
    post({"channel": "zalo", "external_id": "openapi-p", "text": "p",
          "customer": {"handle": "openapi-p", "phone": "0907777777"}})
    q = post({"channel": "facebook", "external_id": "openapi-q", "text": "q",
              "customer": {"handle": "openapi-q"}})
    joined = post({"channel": "facebook", "external_id": "openapi-pq", "text": "pq",
                   "customer": {"handle": "openapi-q", "phone": "0907777777"}})
    assert joined["customer_id"] != q["customer_id"], "q was not merged"
    erased = post({"channel": "chat", "external_id": "openapi-erased", "text": "e",
                   "customer": {"handle": "openapi-erased"}})
    return {"ticket-merge-into": second["ticket_id"], "customer-merged": other["customer_id"],
            "customer-unmerge": q["customer_id"], "customer-erased": erased["customer_id"]}


def test_every_documented_operation_answers_as_documented(spec, stack):
    st = stack("ingest", "router", "courier")
    r = h.http_request(st.api_url + "/v1/messages", "POST", SEED, st.auth(), timeout=15)
    assert r.status == 202, r
    event_id = r.json()["event_id"]
    subs = []
    for _ in range(2):
        r = h.http_request(st.api_url + "/v1/webhook-subscriptions", "POST", SUBSCRIPTION,
                           st.auth(), timeout=15)
        assert r.status == 201, r
        subs.append(r.json()["id"])

    def routed():
        ev = st.get_api(f"/v1/events/{event_id}").json()
        return ev if ev.get("ticket_id") and ev.get("customer_id") else None

    ev = h.wait_until("the seed message routed", routed, h.scaled(10), interval=0.02)
    canned = []
    for _ in range(2):
        r = h.http_request(st.api_url + "/v1/canned-replies", "POST", CANNED, st.auth(),
                           timeout=15)
        assert r.status == 201, r
        canned.append(r.json()["id"])
    made = []
    for _ in range(2):
        r = h.http_request(st.api_url + "/v1/keys", "POST", {"name": "openapi"}, st.auth(),
                           timeout=15)
        assert r.status == 201, r
        made.append(r.json()["id"])
    ids = {"ticket": ev["ticket_id"], "customer": ev["customer_id"], "event": event_id,
           "agent": "agent-openapi", "subscription": subs[0], "subscription-deleted": subs[1],
           "team": "support", "canned": canned[0], "canned-deleted": canned[1],
           "key": made[0], "key-deleted": made[1]}
    ids.update(merge_ids(st, ev))
    keys = {s: new_key(st, f"only {s}", scopes=s)["key"] for s in ("ingest", "read")}
    c = Checker(spec, st, ids, keys)
    checked = 0
    for path, m, op, item in operations(spec):
        if path.startswith("/v1/webhooks/"):
            continue
        check_route_exists(c, path, item)
        check_operation(c, path, m, op)
        checked += 1
    assert checked >= 20
    assert not c.problems, "\n".join(c.problems)


# --- c. the webhooks ------------------------------------------------------------------------


def test_webhooks_answer_as_documented(spec, stack):
    st = stack("ingest")
    c = Checker(spec, st, {})
    hooks = [(p, m, op, item) for p, m, op, item in operations(spec)
             if p.startswith("/v1/webhooks/")]
    assert len(hooks) == 8, [(p, m) for p, m, _, _ in hooks]
    for path, m, op, item in hooks:
        check_route_exists(c, path, item)
        if path == "/v1/webhooks/email":  # on by default, behind an API key
            r = c.request(m, path, op, path, {"From": "x"}, auth=False)
            c.expect(f"{m} {path} without a key", r, 401, op)
            continue
        r = c.request(m, path, op, path, {"object": "page", "entry": []}, auth=False)
        c.expect(f"{m} {path} not configured", r, 404, op)

    st["ingest"].stop()
    st["ingest"].start(extra_env=WEBHOOK_ENV)
    for path, m, op, item in hooks:
        if m == "get":
            token = WEBHOOK_ENV[f"CAREBUS_{path.rsplit('/', 1)[1].upper()}_VERIFY_TOKEN"]
            r = c.request(m, path, op, path, auth=False,
                          query=f"?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=4242")
            if c.expect(f"GET {path} handshake", r, 200, op) is not None and r.body != b"4242":
                c.problems.append(f"GET {path}: challenge echoed as {r.body!r}")
            r = c.request(m, path, op, path, auth=False,
                          query="?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=4242")
            c.expect(f"GET {path} wrong token", r, 403, op)
        elif path != "/v1/webhooks/email":
            form = path.startswith("/v1/webhooks/twilio/")
            body = "From=%2B84901234567&Body=hi&MessageSid=SM1" if form else '{"entry":[]}'
            ct = "application/x-www-form-urlencoded" if form else "application/json"
            r = c.request(m, path, op, path, body, headers={"Content-Type": ct}, auth=False)
            c.expect(f"POST {path} unsigned", r, 401, op)
    assert not c.problems, "\n".join(c.problems)
    assert st.db.scalar("SELECT count(*) FROM eventlog.events") == 0
