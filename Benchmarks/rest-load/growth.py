#!/usr/bin/env python3
"""The cost of a turn as a conversation grows: SESSIONS conversations, one thread each, every one sending TURNS
messages in a row to a REST endpoint (Parley's or Rasa's), each turn waiting for its answer. Prints the median
latency of turn 1, 10, 25 and the last one over all conversations, and the ratio of the last to the first.

usage: growth.py parley|rasa URL [SESSIONS=16] [TURNS=50]
"""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

kind, url = sys.argv[1], sys.argv[2]
sessions = int(sys.argv[3]) if len(sys.argv) > 3 else 16
turns = int(sys.argv[4]) if len(sys.argv) > 4 else 50
parts = urllib.parse.urlsplit(url)
latencies = [[] for _ in range(turns)]
failures = []
lock = threading.Lock()
tag = str(time.time_ns())


def conversation(index):
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    session = f"g{tag}-{index}"
    for turn in range(turns):
        text = "joke"
        if kind == "rasa":
            body = {"sender": session, "message": text}
        else:
            body = {"userId": "u", "sessionId": session, "text": text}
        started = time.perf_counter()
        connection.request("POST", parts.path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200 or b"programmers" not in answer:
            with lock:
                failures.append((turn, response.status, answer[:200]))
            return
        with lock:
            latencies[turn].append(elapsed * 1000)


threads = [threading.Thread(target=conversation, args=(i,)) for i in range(sessions)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
if failures:
    print(f"{kind}: {len(failures)} conversations failed, first: {failures[0]}")
    sys.exit(1)
marks = sorted({0, min(9, turns - 1), min(24, turns - 1), turns - 1})
medians = {m: statistics.median(latencies[m]) for m in marks}
shown = "  ".join(f"turn {m + 1}: {medians[m]:.2f} ms" for m in marks)
print(f"{kind} growth, {sessions} conversations x {turns} turns, median latency  {shown}")
print(f"{kind} ratio turn {turns} / turn 1: {medians[turns - 1] / medians[0]:.2f}")
