"""emulators — strict loopback stand-ins for the providers carebus sends through,
so that a test fails where the real provider would refuse. Each follows the
provider's own documentation: request shapes, credentials, errors, rate
limits, status webhooks and their signatures.

  ZaloEmulator       Zalo OA: POST /v3.0/oa/message/cs (header access_token),
                     uploads, OAuth v4 refresh (POST /v4/oa/access_token,
                     header secret_key; single-use rotating refresh tokens);
                     errors are HTTP 200 + negative "error"
  MessengerEmulator  Graph Send API for Messenger and Instagram:
                     POST /{version}/me/messages, Page token, messaging_type /
                     tag, 24 h window, HUMAN_AGENT 7 days
  WhatsAppEmulator   WhatsApp Cloud API: POST /{version}/{phone-number-id}/messages,
                     Bearer, 24 h customer-service window, templates
  TwilioEmulator     POST /2010-04-01/Accounts/{sid}/Messages.json, Basic,
                     form fields, 201, magic test numbers, StatusCallback
  SmtpEmulator       submission with STARTTLS then AUTH (aiosmtpd); .cafile is
                     the run-time self-signed certificate to trust; .messages()
                     (Mail: headers, text, html, problems()), .sessions() (the
                     dialogue), reject/defer/fail_next/drop_next (Python only)
  PostmarkSender     posts Postmark inbound JSON with the URL's Basic credentials
  WebhookReceiver    an integrator's endpoint; verify_standard_webhook()

How a test uses them (tests run with /usr/bin/python3):

    import sys, pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # tests/
    from emulators import ZaloEmulator

    with ZaloEmulator(webhook_url=st.api_url + "/v1/webhooks/zalo") as zalo:
        # carebus's Zalo settings: both base URLs (API, OAuth) = zalo.url,
        # app id, secret key, OA secret key and tokens = zalo's attributes
        zalo.send_inbound("2512523625412515", "Xin chào")     # the customer writes
        ...                                                   # an agent replies
        [req] = zalo.wait_requests(1, path="/v3.0/oa/message/cs", status=200)
        assert req.json["recipient"]["user_id"] == "2512523625412515"
        msg = zalo.messages()[0]
        zalo.send_status(msg["message_id"], "received")       # signed receipt
        zalo.send_status([msg["message_id"]], "seen")

Common to the HTTP emulators (http_emulator.HttpEmulator):
  .url / .port            http://127.0.0.1:<random port>, threaded server
  .requests(path=, method=, path_re=, status=, since=, where=)   Request records
                          (method, path, query, headers, body, json, form,
                          status/response answered, fault, time)
  .wait_requests(n, timeout, **filters)   bounded wait for answered requests
  .messages(...)          what the provider accepted (ids in its own format)
  .errors                 the emulator's own bugs (answered 500): assert empty
  .reset(state=False)     forget records and faults (state=True: also tokens,
                          users, counters and the clock)
  .advance(seconds)       the emulator's clock: windows close, tokens expire
  .fail_next(n, status=500, retry_after=None, body=None, path=None)
  .rate_limit_next(n, retry_after=None)     429 (provider's body)
  .delay_next(n, seconds, process=True)     answer after the client gave up
  .reset_next(n, process=False)             TCP reset (after acting, if process)
  .set_latency(s)         every request takes s (concurrency limits bite)
  .seed_*(...)            tokens, users (last inbound message), templates...
  .send_inbound(...)      the customer writes: a signed webhook to webhook_url
  .send_status(...)       the provider's signed status webhook
  signature="valid" | "missing" | "bad" | "tampered" on every webhook
  .route(public, local)   post webhooks meant for carebus's public URL to
                          loopback (signatures still cover the public URL)
  .webhooks() / .redeliver(hook)    what was fired and carebus's answers
  /__emu/<operation>      the same operations over HTTP: POST a JSON object
                          of keyword arguments; GET /__emu/requests; GET /__emu/
                          lists them

Where a provider's documentation is silent (an error's exact wording, a
refresh error code), the emulator makes a choice and its module says so.
"""

from .http_emulator import EmulatorError, HttpEmulator, Reply, Request, Webhook
from .messenger import MessengerEmulator
from .postmark import PostmarkSender
from .receiver import WebhookReceiver, standard_webhook_signature, verify_standard_webhook
from .smtp import Mail, SmtpEmulator
from .twilio import TwilioEmulator
from .whatsapp import WhatsAppEmulator
from .zalo import ZaloEmulator

__all__ = ["EmulatorError", "HttpEmulator", "Mail", "MessengerEmulator", "PostmarkSender",
           "Reply", "Request", "SmtpEmulator", "TwilioEmulator", "Webhook", "WebhookReceiver",
           "WhatsAppEmulator", "ZaloEmulator", "standard_webhook_signature",
           "verify_standard_webhook"]
