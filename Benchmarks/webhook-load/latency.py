#!/usr/bin/env python3
"""Accept-to-delivered latency: a webhook receiver (standard library, threaded) and a client in one process.

The client sends COUNT webhook messages, one every INTERVAL seconds, each to its own session, and notes when it
sent each; the receiver notes when each answer arrives (matched by Idempotency-Key = traceId-1). Prints p50, p90
and p99 of arrival minus send time, in milliseconds.

usage: latency.py BASE_URL TOKEN RECEIVER_PORT [COUNT=500] [INTERVAL=0.01]
"""
import http.server
import json
import sys
import threading
import time
import urllib.request

base, token, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 500
interval = float(sys.argv[5]) if len(sys.argv) > 5 else 0.01
arrived = {}
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        now = time.perf_counter()
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        key = self.headers.get("Idempotency-Key", "")
        with lock:
            arrived.setdefault(key, now)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()

sent = {}
for index in range(count):
    body = json.dumps({"userId": "u", "sessionId": f"lat-{index}", "text": "hello"}).encode()
    request = urllib.request.Request(f"{base}/{token}", data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        trace = json.loads(response.read())["traceId"]
    sent[trace + "-1"] = start
    time.sleep(interval)

deadline = time.time() + 30
while time.time() < deadline:
    with lock:
        if all(key in arrived for key in sent):
            break
    time.sleep(0.05)
server.shutdown()

with lock:
    latencies = sorted((arrived[key] - start) * 1000 for key, start in sent.items() if key in arrived)
missing = len(sent) - len(latencies)


def pct(p):
    return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]


print(f"latency messages={len(sent)} delivered={len(latencies)} missing={missing} "
      f"p50_ms={pct(50):.2f} p90_ms={pct(90):.2f} p99_ms={pct(99):.2f}")
