#!/usr/bin/env python3
"""Start-up to first answer and resident memory of one server process.

usage: footprint.py start URL BODY CWD COMMAND...
  starts COMMAND in CWD, POSTs BODY (JSON) to URL every millisecond until one answer is 200, prints
  "startup_ms=... rss_kib=... pid=..." (RSS just after the first answer, then again after a second of idle as
  "idle_rss_kib=...") and leaves the process running (its pid is printed; the caller stops it).
"""
import http.client
import subprocess
import sys
import time
import urllib.parse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    url, body, cwd, command = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    parts = urllib.parse.urlsplit(url)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        if process.poll() is not None:
            print(f"the server exited with {process.returncode} before answering", file=sys.stderr)
            sys.exit(1)
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            connection.request("POST", parts.path, body, {"Content-Type": "application/json"})
            if connection.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.perf_counter() - started > 60:
            print("no answer within 60 s", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.001)
    elapsed = (time.perf_counter() - started) * 1000
    first = rss_kib(process.pid)
    time.sleep(1)
    print(f"startup_ms={elapsed:.0f} rss_kib={first} idle_rss_kib={rss_kib(process.pid)} pid={process.pid}")


if __name__ == "__main__" and sys.argv[1] == "start":
    main()
