#!/usr/bin/env bash
# The soak of issue 25 (not in CI): `parley serve` with the sample-like deployment under moderate load for a while
# (30 minutes by default), with a 20-second burst of 64 concurrent senders every five minutes, sampling every
# 30 s: the WAL and database size, RSS, open descriptors, threads, messages pending and delivered per second.
# Everything stays on 127.0.0.1; the load is bounded in count and time and stops by itself.
#
#   Tests/soak/run.sh [PARLEY_BINARY] [MINUTES=30]      prints one line per sample and a summary; the samples also go
#                                                      to $SOAK_OUT (default a temporary folder, printed at the end)
#
# The receiver answers 200 at once. Webhook sessions of five turns and a REST endpoint share the server; each
# webhook turn also updates a copilot tile (the workload of the deadlock). RELIABILITY.md has a run's figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-.build/release/parley}
minutes=${2:-30}
out=${SOAK_OUT:-$(mktemp -d)}
mkdir -p "$out/flows"
python3 - "$binary" "$minutes" "$out" <<'PY'
import http.client, json, os, socket, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

binary, minutes, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
webhook_token, rest_token, admin = "ab" * 32, "cd" * 32, "soak-admin-token"

class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delivered = 0
    lock = threading.Lock()
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Hook.lock:
            Hook.delivered += 1
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass

receiver = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
open(f"{out}/flows/chat.yaml", "w").write(
    'flow: chat\nnodes:\n  hello: { say: "you said {{input.text}}", next: tile }\n'
    '  tile: { copilot: { tile: last, type: nextAction, text: "said {{input.text}}" }, next: more }\n'
    '  more: { say: { text: "turn {{input.execution}}", data: { n: "{{input.execution}}" } } }\n')
open(f"{out}/parley.yaml", "w").write(f"""
server: {{ host: 127.0.0.1, port: {port}, adminToken: {admin} }}
store: "sqlite:parley.sqlite"
flows: flows
endpoints:
  - {{ name: chat, type: webhook, urlToken: {webhook_token}, flow: chat,
      webhook: {{ url: "http://127.0.0.1:{receiver.server_address[1]}/hook" }} }}
  - {{ name: api, type: rest, urlToken: {rest_token}, flow: chat }}
""")
server = subprocess.Popen([os.path.abspath(binary), "serve", "--config", "parley.yaml", "--log-level", "error"], cwd=out,
                          stderr=open(f"{out}/serve.log", "w"))
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close(); break
    except OSError:
        time.sleep(0.1)

def post(path, body, timeout=30):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse(); response.read(); return response.status
    except OSError:
        return 0
    finally:
        connection.close()

stop = threading.Event()
counts = {"accepted": 0, "rest": 0, "rest_slow": 0, "failed": 0}
lock = threading.Lock()

def conversations(worker, pause):
    n = 0
    while not stop.is_set():
        n += 1
        for turn in range(5):
            status = post(f"/{webhook_token}", {"userId": f"u{worker}", "sessionId": f"w{worker}-{n}", "text": f"turn {turn}"})
            with lock:
                counts["accepted" if status == 202 else "failed"] += 1
            time.sleep(pause)

def rest(worker):
    n = 0
    while not stop.is_set():
        n += 1
        began = time.monotonic()
        status = post(f"/{rest_token}", {"userId": f"r{worker}", "sessionId": f"r{worker}-{n // 5}", "text": "hi"}, timeout=90)
        with lock:
            counts["rest" if status == 200 else "failed"] += 1
            if time.monotonic() - began > 1: counts["rest_slow"] += 1
        time.sleep(0.2)

def burst(seconds):
    until = time.time() + seconds
    def one(i):
        while time.time() < until:
            status = post(f"/{webhook_token}", {"userId": "burst", "sessionId": f"b{i}-{int(time.time())}", "text": "burst"})
            with lock:
                counts["accepted" if status == 202 else "failed"] += 1
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(64)]
    for t in threads: t.start()
    for t in threads: t.join()

workers = [threading.Thread(target=conversations, args=(i, 0.05), daemon=True) for i in range(8)]
workers += [threading.Thread(target=rest, args=(i,), daemon=True) for i in range(2)]
for w in workers: w.start()

def size(path):
    try: return os.path.getsize(path)
    except OSError: return 0

def pending():
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/metrics"); text = connection.getresponse().read().decode()
        for line in text.splitlines():
            if line.startswith("parley_outbox_depth"): return int(float(line.split()[-1]))
    except OSError:
        return -1
    finally:
        connection.close()
    return -1

began = time.time()
last_burst = began
samples = []
previous = (began, 0)
print("minute  wal_MiB  db_MiB  rss_MiB  fds  threads  pending  delivered/s  accepted  rest(slow)  failed", flush=True)
while time.time() - began < minutes * 60:
    time.sleep(1)
    if time.time() - last_burst >= 300:
        last_burst = time.time()
        threading.Thread(target=burst, args=(20,), daemon=True).start()
    if int(time.time() - began) % 30 != 0:
        continue
    status = open(f"/proc/{server.pid}/status").read()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS")).split()[1]) // 1024
    threads = int(next(l for l in status.splitlines() if l.startswith("Threads")).split()[1])
    fds = len(os.listdir(f"/proc/{server.pid}/fd"))
    now, delivered = time.time(), Hook.delivered
    rate = (delivered - previous[1]) / max(now - previous[0], 0.001)
    previous = (now, delivered)
    sample = dict(minute=round((now - began) / 60, 1), wal=size(f"{out}/parley.sqlite-wal") >> 20, db=size(f"{out}/parley.sqlite") >> 20,
                  rss=rss, fds=fds, threads=threads, pending=pending(), rate=round(rate), **counts)
    samples.append(sample)
    print(f"{sample['minute']:6}  {sample['wal']:7}  {sample['db']:6}  {rss:7}  {fds:3}  {threads:7}  {sample['pending']:7}  {sample['rate']:11}  "
          f"{counts['accepted']:8}  {counts['rest']}({counts['rest_slow']})  {counts['failed']}", flush=True)
stop.set()
for w in workers: w.join(100)
drain_began = time.time()
while pending() > 0 and time.time() - drain_began < 600:
    time.sleep(1)
print(f"drained the rest in {time.time() - drain_began:.0f} s; delivered {Hook.delivered}, accepted {counts['accepted']}")
server.terminate()
print(f"SIGTERM exit {server.wait(60)}")
json.dump(samples, open(f"{out}/samples.json", "w"), indent=1)
print(f"samples: {out}/samples.json")
PY
