#!/usr/bin/env python3
"""Final utterance to workspace event: how long from POSTing a final transcript to the voice copilot endpoint
until the Server-Sent Event with that utterance reaches a watcher of /copilot/events (what the agent's page
receives). Standard library only.

usage: latency.py BASE_URL URL_TOKEN [COUNT=200] [INTERVAL=0.02]
"""
import json
import sys
import threading
import time
import urllib.parse
import urllib.request

base, token = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 200
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.02
user, session = "+4930123", f"latency-{int(time.time())}"
query = urllib.parse.urlencode({"userId": user, "sessionId": session, "URLToken": token})
seen = {}
ready = threading.Event()
lock = threading.Lock()


def watch():
    with urllib.request.urlopen(f"{base}/copilot/events?{query}", timeout=120) as stream:
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if not line.startswith("data: "):
                continue
            now = time.perf_counter()
            state = json.loads(line[6:])
            ready.set()
            with lock:
                for entry in state.get("transcript", []):
                    seen.setdefault(entry["text"], now)
                if len(seen) >= count:
                    return


threading.Thread(target=watch, daemon=True).start()
ready.wait(10)
sent = {}
for index in range(count):
    text = f"utterance number {index} about my invoice"
    body = json.dumps({"userId": user, "sessionId": session, "text": text, "speaker": "customer", "final": True}).encode()
    request = urllib.request.Request(f"{base}/{token}", data=body, headers={"Content-Type": "application/json"})
    sent[text] = time.perf_counter()
    urllib.request.urlopen(request).read()
    time.sleep(interval)

deadline = time.time() + 30
while time.time() < deadline:
    with lock:
        if all(text in seen for text in sent):
            break
    time.sleep(0.05)
with lock:
    latencies = sorted((seen[text] - start) * 1000 for text, start in sent.items() if text in seen)


def pct(p):
    return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]


print(f"copilot utterances={len(sent)} events={len(latencies)} p50_ms={pct(50):.2f} p90_ms={pct(90):.2f} p99_ms={pct(99):.2f}")
