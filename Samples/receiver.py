#!/usr/bin/env python3
"""A tiny webhook receiver for Parley's outgoing messages (Python 3 standard library only).

It prints every POST it gets (path, Idempotency-Key, whether Basic auth matched, the JSON body) and answers
200, or 401 when Basic auth is wrong. With --fail N it answers 500 to the first N requests, so you can watch
Parley retry them.

    python3 Samples/receiver.py                 # 127.0.0.1:9000 (or $PORT)
    python3 Samples/receiver.py 9001 --fail 3   # another port; the first 3 requests fail

Basic auth: user `parley`, password $WEBHOOK_PASSWORD (default `sample-password`), as in parley.yaml.
"""

import argparse
import base64
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USER = "parley"
PASSWORD = os.environ.get("WEBHOOK_PASSWORD", "sample-password")
EXPECTED_AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

lock = threading.Lock()
state = {"count": 0, "fail": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization")
        auth_ok = auth is not None and hmac.compare_digest(auth, EXPECTED_AUTH)
        with lock:
            state["count"] += 1
            number = state["count"]
            failing = number <= state["fail"]
            status = 401 if not auth_ok else 500 if failing else 200

            try:
                shown = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
            except ValueError:
                shown = body.decode("utf-8", "replace")
            if len(shown) > 4000:
                shown = shown[:4000] + f"... ({len(body)} bytes)"
            auth_text = "matched" if auth_ok else ("missing" if auth is None else "WRONG")
            print(f"--- #{number} POST {self.path}")
            print(f"Idempotency-Key: {self.headers.get('Idempotency-Key', '-')}")
            print(f"Basic auth: {auth_text}")
            print(shown)
            print(f"=> {status}" + (" (--fail)" if status == 500 else ""), flush=True)

        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="receiver"')
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok":true}' if status == 200 else b'{"ok":false}')

    def log_message(self, format, *args):  # keep the output to what we print above
        pass


def main():
    parser = argparse.ArgumentParser(description="Print the webhook requests Parley sends.")
    parser.add_argument("port", nargs="?", type=int, default=int(os.environ.get("PORT", "9000")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fail", type=int, default=0, metavar="N", help="answer 500 to the first N requests")
    args = parser.parse_args()
    state["fail"] = args.fail

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"receiver on http://{args.host}:{args.port}/ (Basic auth {USER}:***; failing the first {args.fail})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
