#!/usr/bin/env python3
"""Plays a recorded call into a running Parley server's voice copilot endpoint.

    python3 Samples/play_call.py [FILE] [--base URL] [--token T] [--speed N] [--session ID] [--key K]

FILE (default Samples/calls/insurance-call.jsonl) holds one transcript event a line:
`{"at": seconds_from_start, "body": {userId, sessionId, text, speaker, final}}` (or a jambonz hook body). Each body
is POSTed to BASE/TOKEN at its `at` time (divided by --speed); the answer status is printed. The agent workspace
link is printed first: open it in a browser to watch the tiles update.

Defaults: BASE http://127.0.0.1:8080 and the URL token of the sample `call-assist` endpoint in parley.yaml.
--session overrides the sessionId in every body (for the normalized form; `call_sid` for jambonz bodies), so the
same recording can be played again into a fresh workspace. Standard library only.
"""
import argparse
import json
import shlex
import subprocess
import os
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FILE = os.path.join(HERE, "calls", "insurance-call.jsonl")
DEFAULT_TOKEN = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"


def load(path):
    events = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                event = json.loads(line)
                events.append((float(event["at"]), event["body"]))
            except (ValueError, KeyError, TypeError) as error:
                sys.exit("%s:%d: not a {\"at\", \"body\"} line (%s)" % (path, number, error))
    events.sort(key=lambda event: event[0])
    return events


def identity(body):
    """(userId, sessionId) of a body in either form (jambonz: the caller on inbound calls, the callee on outbound)."""
    if "call_sid" in body or "speech" in body:
        party = "to" if str(body.get("direction", "")).lower() == "outbound" else "from"
        return body.get(party, ""), body.get("call_sid", "")
    return body.get("userId", ""), body.get("sessionId", "")


def workspace_link(args, base, user, session):
    """The agent's signed workspace link (the URL alone does not open a workspace: DESIGN 5.4.1), made with
    `parley copilot link` when a built parley is at hand; else the command that makes it."""
    for binary in (".build/release/parley", ".build/debug/parley"):
        if not os.path.exists(binary):
            continue
        try:
            made = subprocess.run([binary, "copilot", "link", "--config", args.config, "--endpoint", args.endpoint,
                                   "--user", user, "--session", session], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        link = made.stdout.strip()
        if made.returncode == 0 and "/copilot/?" in link:
            return base + "/copilot/?" + link.split("/copilot/?", 1)[1]
    return "run: parley copilot link --endpoint %s --user %s --session %s" % (
        args.endpoint, shlex.quote(user), shlex.quote(session))


def main():
    parser = argparse.ArgumentParser(description="Play a recorded call into Parley's voice copilot endpoint.")
    parser.add_argument("file", nargs="?", default=DEFAULT_FILE)
    parser.add_argument("--base", default=os.environ.get("BASE", "http://127.0.0.1:8080"))
    parser.add_argument("--token", default=os.environ.get("TOKEN", DEFAULT_TOKEN), help="the endpoint's URL token")
    parser.add_argument("--speed", type=float, default=1.0, help="play N times faster (default 1: real pace)")
    parser.add_argument("--session", help="use this sessionId in every body")
    parser.add_argument("--key", default=os.environ.get("WEBHOOK_KEY"), help="API key (X-Webhook-Key) for auth: apiKey endpoints")
    parser.add_argument("--quiet", action="store_true", help="print only the link and failures")
    parser.add_argument("--endpoint", default="call-assist", help="the endpoint's name, for its workspace link")
    parser.add_argument("--config", default="parley.yaml", help="the deployment, for its workspace link")
    args = parser.parse_args()
    if args.speed <= 0:
        parser.error("--speed must be positive")

    events = load(args.file)
    if not events:
        sys.exit("%s: no events" % args.file)
    base = args.base.rstrip("/")
    for _, body in events:
        if args.session:
            if "call_sid" in body or "speech" in body:
                body["call_sid"] = args.session
            else:
                body["sessionId"] = args.session

    user, session = identity(events[0][1])
    print("workspace: %s" % workspace_link(args, base, user, session), flush=True)
    print("playing %d events from %s at %gx into %s/%s…" % (len(events), os.path.relpath(args.file), args.speed, base,
                                                             args.token[:8]), flush=True)

    url = "%s/%s" % (base, args.token)
    headers = {"Content-Type": "application/json"}
    if args.key:
        headers["X-Webhook-Key"] = args.key
    start = time.monotonic()
    failures = 0
    for at, body in events:
        delay = start + at / args.speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, answer = error.code, error.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as error:
            status, answer = None, str(getattr(error, "reason", error))
        ok = status is not None and 200 <= status < 300
        failures += 0 if ok else 1
        if ok and args.quiet:
            continue
        speaker = body.get("speaker") or "channel %s" % (body.get("speech", {}).get("channel_tag", "?"))
        final = body.get("final", body.get("speech", {}).get("is_final", True))
        text = body.get("text") or (body.get("speech", {}).get("alternatives") or [{}])[0].get("transcript", "")
        print("%6.1fs %-8s %-7s %s  → %s %s" % (at, speaker, "final" if final else "interim",
                                              (text[:60] + "…") if len(text) > 60 else text,
                                              status if status is not None else "error", answer.strip()[:120]), flush=True)
        if status is None and failures == 1 and at == events[0][0]:
            print("is the server running? (scripts/start)", file=sys.stderr)
    print("done: %d events, %d failed" % (len(events), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
