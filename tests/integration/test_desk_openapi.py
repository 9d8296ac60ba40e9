"""services/desk/openapi.yaml kept true: it describes exactly the routes of
services/desk/routes.c (each /api route the same path of channel-ingest's
docs/openapi.yaml, with the same method), with the scope each states: public
routes `public`, the others `session`.
"""

import re

import yaml

import carebus_harness as h

DESK = h.REPO / "services" / "desk"
ROUTE = re.compile(r'\{"(GET|POST|PUT|PATCH|DELETE)", "([^"]+)", \w+, ([A-Z_| ]+)\}')
API = re.compile(r'API\("(GET|POST|PUT|PATCH|DELETE)", "([^"]+)"\)')


def oapi(path):
    return re.sub(r":(\w+)", r"{\1}", path)


def routes():
    text = (DESK / "routes.c").read_text()
    out = {(m, oapi(p)): "public" if "SCOPE_PUBLIC" in a else "session"
           for m, p, a in ROUTE.findall(text)}
    out.update({(m, "/api" + oapi(p)): "session" for m, p in API.findall(text)})
    return out


def test_the_document_is_the_route_table():
    doc = yaml.safe_load((DESK / "openapi.yaml").read_text())
    documented = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            documented[(method.upper(), path)] = op["x-scope"]
    assert documented == routes()
    ingest = yaml.safe_load((h.REPO / "docs" / "openapi.yaml").read_text())["paths"]
    for method, path in documented:
        if path.startswith("/api/"):
            assert method.lower() in ingest.get(path[4:], {}), (method, path)
