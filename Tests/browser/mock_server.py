#!/usr/bin/env python3
"""A stand-in for Parley's copilot routes, to develop and check the workspace page without the real server.

Serves the page's three resource files (Sources/ParleyServer/Resources/copilot/) at /copilot/, a canned workspace
state at /copilot/state and a Server-Sent Events stream at /copilot/events, exactly in the shape of DESIGN §5.5 /
docs/voice.md. The state is the one the `call-assist` flow builds during the sample insurance call: a setGrid,
every tile type, an unknown tile (not in the grid), the transcript and an interim line.

    python3 Tests/browser/mock_server.py [--port 8765] [--scenario live|static] [--interval 0.4] [--drop-after S]

- `static`: the final state, sent once on connect and then only keep-alives.
- `live` (default): the state grows step by step (one step every --interval seconds since the server started),
  and every connected stream gets each new state as an `event: state`.
- `--drop-after S` closes every event stream S seconds after it opened, to exercise the page's reconnect.

Standard library only. Also importable: `start(port, ...)` returns a running server (see check_workspace.py --mock).
"""
import argparse
import copy
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RESOURCES = os.path.join(ROOT, "Sources", "ParleyServer", "Resources", "copilot")

TOKEN = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
USER = "+15083084809"
SESSION = "aad0115d-ec21-40db-aa02-31b7b01540c5"

GRID = {
    "grid": {"columns": 3, "rows": 5, "gap": 8},
    "tiles": {
        "transcript": {"x": 1, "y": 1, "rows": 5, "columns": 1},
        "identity": {"x": 2, "y": 1, "rows": 1, "columns": 1},
        "sentiment": {"x": 3, "y": 1, "rows": 1, "columns": 1},
        "next-action": {"x": 2, "y": 2, "rows": 1, "columns": 2},
        "knowledge": {"x": 2, "y": 3, "rows": 1, "columns": 1},
        "offer": {"x": 3, "y": 3, "rows": 1, "columns": 1},
        "crm": {"x": 2, "y": 4, "rows": 1, "columns": 1},
        "checklist": {"x": 3, "y": 4, "rows": 1, "columns": 1},
        "alert": {"x": 2, "y": 5, "rows": 1, "columns": 2},
    },
}

CHECKLIST_HTML = """<ul class="checklist">
  <li data-item="greeted">Greet the caller</li>
  <li data-item="recordingNotice">Mention that the call is recorded</li>
  <li data-item="identified">Confirm the customer number</li>
  <li data-item="summary">Summarise the next steps</li>
</ul>
"""

ALERT_HTML = """<div class="alert">
  <strong>Escalation advised.</strong> The caller has been negative for several turns.
  Offer a supervisor callback (queue <code>retention-2nd-level</code>).
</div>
"""

TRANSCRIPT = [
    ("agent", "Good morning, thank you for calling Acme Insurance, this is Sam. Please note this call is recorded for quality purposes."),
    ("customer", "Hi Sam. I'm calling about my bill, again."),
    ("agent", "I'm sorry to hear that. Could you give me your customer number?"),
    ("customer", "Sure, it's 1002 3456."),
    ("agent", "Thank you, Ms Lovelace. I can see your account. What seems to be the problem with the bill?"),
    ("customer", "You charged me twice for March. This is the second time, it's ridiculous."),
    ("agent", "I understand, a double charge is really annoying. Let me look at the March invoice."),
    ("customer", "Honestly, if this isn't fixed today I want to cancel my contract."),
]


def _at(second):
    return "2025-03-14T09:%02d:%02dZ" % (12 + second // 60, second % 60)


def steps():
    """The workspace state after each event of the call, in order."""
    states = []
    tiles = {}
    transcript = []
    state = {"grid": None, "tiles": tiles, "transcript": transcript, "interim": {}}

    def snap():
        states.append(copy.deepcopy(state))

    snap()
    state["grid"] = GRID
    tiles["checklist"] = {"type": "html", "html": CHECKLIST_HTML, "updatedAt": _at(0),
                          "data": {"greeted": False, "identified": False, "recordingNotice": False, "summary": False}}
    tiles["next-action"] = {"type": "nextAction", "updatedAt": _at(0),
                            "text": "Greet the caller, mention that the call is recorded and ask for their customer number."}
    snap()
    state["interim"] = {"agent": "Good morning, thank you for calling"}
    snap()
    for index, (speaker, text) in enumerate(TRANSCRIPT):
        second = 4 + index * 9
        state["interim"] = {}
        transcript.append({"speaker": speaker, "text": text})
        if speaker == "agent":
            data = dict(tiles["checklist"]["data"])
            if index == 0:
                data.update(greeted=True, recordingNotice=True)
            tiles["checklist"] = dict(tiles["checklist"], data=data, updatedAt=_at(second))
        if index == 1:
            tiles["sentiment"] = {"type": "sentiment", "text": "negative", "updatedAt": _at(second),
                                  "data": {"label": "negative", "score": -1, "turns": 1}}
            tiles["knowledge"] = {"type": "knowledge", "updatedAt": _at(second),
                                  "text": "Invoices are issued on the 1st; disputed charges can be put on hold for 30 days while we check them.",
                                  "url": "https://kb.example.com/articles/billing-disputes",
                                  "data": {"articleId": "KB-2210", "topic": "billing"}}
            tiles["next-action"] = {"type": "nextAction", "updatedAt": _at(second),
                                    "text": "Ask for the customer number to identify the caller.",
                                    "data": {"topic": "billing", "escalate": False}}
        if index == 3:
            tiles["sentiment"] = {"type": "sentiment", "text": "negative", "updatedAt": _at(second),
                                  "data": {"label": "negative", "score": -1, "turns": 2}}
            tiles["identity"] = {"type": "identity", "updatedAt": _at(second),
                                 "text": "Ada Lovelace, gold customer since 2015",
                                 "data": {"id": "10023456", "name": "Ada Lovelace", "tier": "gold", "since": 2015, "contract": "Fibre 250"}}
            tiles["crm"] = {"type": "iframe", "updatedAt": _at(second), "url": "/mock/crm/10023456?view=compact"}
            data = dict(tiles["checklist"]["data"], identified=True)
            tiles["checklist"] = dict(tiles["checklist"], data=data)
            tiles["next-action"] = {"type": "nextAction", "updatedAt": _at(second),
                                    "text": "Open the latest invoice in the CRM and go through the disputed charge.",
                                    "data": {"topic": "billing", "escalate": False}}
        if index == 5:
            tiles["sentiment"] = {"type": "sentiment", "text": "negative", "updatedAt": _at(second),
                                  "data": {"label": "negative", "score": -3, "turns": 3}}
            tiles["next-action"] = {"type": "nextAction", "updatedAt": _at(second),
                                    "text": "Acknowledge the frustration and offer a callback from a supervisor.",
                                    "data": {"topic": "billing", "escalate": False}}
            tiles["wrapup-notes"] = {"type": "nextAction", "unknown": True, "updatedAt": _at(second),
                                     "text": "Log the double charge as a billing incident."}
        if index == 7:
            tiles["sentiment"] = {"type": "sentiment", "text": "negative", "updatedAt": _at(second),
                                  "data": {"label": "negative", "score": -4, "turns": 4}}
            tiles["knowledge"] = {"type": "knowledge", "updatedAt": _at(second),
                                  "text": "Cancellation: 3 months' notice; gold customers may be offered a 20% loyalty discount.",
                                  "url": "https://kb.example.com/articles/cancellation",
                                  "data": {"articleId": "KB-1042", "topic": "cancel",
                                           "links": [{"title": "Retention playbook", "url": "https://kb.example.com/playbooks/retention"}]}}
            tiles["offer"] = {"type": "adaptiveCard", "updatedAt": _at(second), "card": {
                "type": "AdaptiveCard", "version": "1.5",
                "body": [
                    {"type": "ColumnSet", "columns": [
                        {"type": "Column", "width": "auto", "items": [
                            {"type": "Image", "url": "https://cdn.example.com/badges/gold.png", "altText": "Gold badge", "size": "Small"}]},
                        {"type": "Column", "width": "stretch", "items": [
                            {"type": "TextBlock", "text": "Retention offer", "weight": "Bolder", "size": "Medium"},
                            {"type": "TextBlock", "text": "Fibre 250 at 20% off for 12 months", "wrap": True, "isSubtle": True}]}]},
                    {"type": "FactSet", "facts": [{"title": "Saving", "value": "€96 / year"}, {"title": "Valid until", "value": "31 March"}]},
                ],
                "actions": [
                    {"type": "Action.Submit", "title": "Offer accepted", "style": "positive", "data": {"offer": "loyalty-20", "accepted": True}},
                    {"type": "Action.Submit", "title": "Declined", "data": {"offer": "loyalty-20", "accepted": False}},
                    {"type": "Action.OpenUrl", "title": "Terms", "url": "https://kb.example.com/offers/loyalty-20"},
                ]}}
            tiles["next-action"] = {"type": "nextAction", "updatedAt": _at(second),
                                    "text": "Acknowledge the frustration and offer a callback from a supervisor.",
                                    "data": {"topic": "cancel", "escalate": True}}
            tiles["alert"] = {"type": "html", "html": ALERT_HTML, "updatedAt": _at(second), "data": {"negativeTurns": 3}}
        snap()
        if index == 6:
            state["interim"] = {"customer": "Honestly if this isn't fixed"}
            snap()
    state["interim"] = {"agent": "I completely understand. Let me put the March charge on hold and"}
    snap()
    return states


STATES = steps()


class Mock:
    def __init__(self, scenario="live", interval=0.4, drop_after=None, keepalive=15.0):
        self.scenario = scenario
        self.interval = interval
        self.drop_after = drop_after
        self.keepalive = keepalive
        self.started = time.monotonic()

    def index(self):
        if self.scenario == "static":
            return len(STATES) - 1
        return min(len(STATES) - 1, int((time.monotonic() - self.started) / self.interval))

    def state(self):
        return STATES[self.index()]


CRM_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;font:12.5px/1.4 system-ui,'DejaVu Sans',sans-serif;color:#1d2433}
header{background:#0f766e;color:#fff;padding:6px 10px;font-weight:600;display:flex;justify-content:space-between}
table{border-collapse:collapse;width:100%}td,th{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left}
th{color:#6b7280;font-weight:500}.dup{color:#b91c1c;font-weight:600}
</style></head><body><header><span>Acme CRM · Customer %(id)s</span><span>Fibre 250</span></header>
<table><tr><th>Invoice</th><th>Date</th><th>Amount</th></tr>
<tr><td>INV-3301</td><td>01 Mar</td><td>€39.90</td></tr>
<tr class="dup"><td>INV-3301</td><td>03 Mar</td><td>€39.90 (duplicate)</td></tr>
<tr><td>INV-3188</td><td>01 Feb</td><td>€39.90</td></tr></table></body></html>"""


def make_handler(mock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if os.environ.get("MOCK_VERBOSE"):
                sys.stderr.write("mock: " + (fmt % args) + "\n")

        def send(self, status, body, content_type, extra=None):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def authorized(self, query):
            if query.get("URLToken", [""])[0] != TOKEN:
                self.send(404, json.dumps({"error": {"code": "unknown_endpoint", "message": "no endpoint has this URL token"}}),
                          "application/json")
                return False
            return True

        def do_GET(self):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            path = url.path
            if path in ("/copilot/", "/copilot/index.html"):
                return self.file("index.html", "text/html; charset=utf-8")
            if path == "/copilot":
                return self.send(301, "", "text/plain", {"Location": "/copilot/" + ("?" + url.query if url.query else "")})
            if path == "/copilot/app.js":
                return self.file("app.js", "text/javascript; charset=utf-8")
            if path == "/copilot/style.css":
                return self.file("style.css", "text/css; charset=utf-8")
            if path == "/copilot/state":
                if self.authorized(query):
                    self.send(200, json.dumps(mock.state()), "application/json")
                return
            if path == "/copilot/events":
                if self.authorized(query):
                    self.events()
                return
            if path.startswith("/mock/crm/"):
                ident = "".join(ch for ch in path.rsplit("/", 1)[-1] if ch.isalnum())
                return self.send(200, CRM_PAGE.replace("%(id)s", ident), "text/html; charset=utf-8")
            if path == "/health":
                return self.send(200, '{"status":"ok"}', "application/json")
            self.send(404, json.dumps({"error": {"code": "not_found", "message": "no such route"}}), "application/json")

        def file(self, name, content_type):
            with open(os.path.join(RESOURCES, name), "rb") as handle:
                self.send(200, handle.read(), content_type)

        def events(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            opened = time.monotonic()
            last_sent = -1
            last_keepalive = opened
            try:
                while True:
                    index = mock.index()
                    if index != last_sent:
                        payload = json.dumps(STATES[index])
                        self.wfile.write(("event: state\ndata: " + payload + "\n\n").encode())
                        self.wfile.flush()
                        last_sent = index
                    now = time.monotonic()
                    if now - last_keepalive >= mock.keepalive:
                        self.wfile.write(b": keep-alive\n\n")
                        self.wfile.flush()
                        last_keepalive = now
                    if mock.drop_after is not None and now - opened >= mock.drop_after:
                        return
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def start(port=0, host="127.0.0.1", **options):
    """Starts the mock in a background thread; returns the server (server.server_address has the port)."""
    server = ThreadingHTTPServer((host, port), make_handler(Mock(**options)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scenario", choices=["live", "static"], default="live")
    parser.add_argument("--interval", type=float, default=0.4, help="seconds per step of the live scenario")
    parser.add_argument("--drop-after", type=float, default=None, help="close each event stream after S seconds")
    parser.add_argument("--keepalive", type=float, default=15.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(Mock(args.scenario, args.interval, args.drop_after, args.keepalive)))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print("mock copilot on http://%s:%d/copilot/?userId=%s&sessionId=%s&URLToken=%s" % (host, port, quote(USER, safe=""), quote(SESSION, safe=""), TOKEN), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
