"""Issue 6 acceptance: the survey page in a real browser.

Two tickets are opened and solved through the API; tests/browser/survey.mjs
(node + playwright-core driving Debian's headless chromium) opens each
survey link -- one on a phone-sized touch screen in Vietnamese, one on a
desktop in English using the keyboard only -- picks 5 and 6, writes a
comment and submits; the answers must then be in PostgreSQL, each with its
survey.answered event. Screenshots of the forms and thank-you pages land in
tests/artifacts/ (survey-*.png).

Skipped only when chromium itself is not installed; a missing node or
playwright-core is a failure with the command that fixes it (CI installs
them: see tests/browser/README).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import carebus_harness as h
from test_survey_support import answered_events, answers, open_ticket, solve_ticket, start, wait_requested

SCRIPT = h.REPO / "tests" / "browser" / "survey.mjs"
ARTIFACTS = h.REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("CAREBUS_CHROMIUM", "/usr/bin/chromium")


def browser_tools():
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install chromium, or set "
                    "CAREBUS_CHROMIUM): the survey browser test cannot run")
    node = shutil.which("node")
    if not node:
        pytest.fail("node is not installed (apt-get install nodejs npm): the survey browser test "
                    "needs it", pytrace=False)
    if not (h.REPO / "node_modules" / "playwright-core").is_dir():
        pytest.fail("playwright-core is missing: run `npm ci` at the repository root "
                    "(see tests/browser/README)", pytrace=False)
    return node


def test_survey_answered_in_a_browser_on_phone_and_desktop(stack, pb2):
    node = browser_tools()
    st = start(stack)
    t_phone, _ = open_ticket(st, 51, "Sản phẩm bị lỗi, tôi muốn bảo hành", channel="zalo")
    t_desktop, _ = open_ticket(st, 52, "Hi, my invoice is wrong, please help", channel="email")
    solve_ticket(st, pb2, t_phone)
    solve_ticket(st, pb2, t_desktop)
    phone, desktop = wait_requested(st, t_phone), wait_requested(st, t_desktop)
    shots = ["survey-form-phone.png", "survey-thanks-phone.png", "survey-form-desktop.png",
             "survey-thanks-desktop.png"]
    for name in shots:
        (ARTIFACTS / name).unlink(missing_ok=True)

    env = dict(os.environ, SURVEY_LINK_PHONE=phone["link"], SURVEY_LINK_DESKTOP=desktop["link"],
               CAREBUS_ARTIFACTS=str(ARTIFACTS), CAREBUS_CHROMIUM=CHROMIUM)
    p = subprocess.run([node, str(SCRIPT)], cwd=str(h.REPO), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=h.scaled(120))
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, f"{SCRIPT.name} failed ({p.returncode}):\n{out}"
    steps = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert {s.get("answered") for s in steps} >= {"phone", "desktop"}, out

    got = {row[0]: row[1:] for row in answers(st)}
    assert got == {
        phone["id"]: (5, 6, "Nhân viên hỗ trợ nhiệt tình, cảm ơn!"),
        desktop["id"]: (5, 6, "Quick and friendly, thank you."),
    }
    assert answered_events(st) == 2
    for name in shots:
        f = ARTIFACTS / name
        assert f.exists() and f.stat().st_size > 1000, f
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f
