#!/usr/bin/env python3
"""Fault injection for webhook delivery (DESIGN §5.1, §6): a real `parley serve`, a loopback receiver under the
harness's control, steady load, one fault per scenario, then the books are balanced.

    python3 Tests/faults/harness.py --binary PARLEY [--short] [--json FILE] [--only NAME,...] [--artifacts DIR]

Python 3.11 standard library only; everything listens on 127.0.0.1. Usually started by Tests/faults/run.sh.

Each scenario gets a fresh folder, store, receiver and server:

  1. the receiver answers 200; `parley serve` starts on a generated config and `GET /ready` answers 200;
  2. SESSIONS senders post numbered messages ("1", "2", ...) at a steady rate;
  3. the fault is made, held, and removed (after which the server must accept again: without a restart when it can);
  4. the load stops; the harness waits (bounded) until every accepted message's echo reached the receiver;
  5. it counts: accepted, processed (turn in the transcript), delivered (unique ids), duplicated, lost, order
     violations, and prints one line per scenario.

A scenario fails when an accepted message is lost, a session's echoes arrive out of order, a turn ran twice or
out of order, a duplicate carried a different body, the server exited when nobody killed it, it answered a valid
request with a 4xx, it did not stop cleanly on SIGTERM, it answered 5xx for a request it had in fact stored, or it
stalled (accepted messages still undelivered when the drain bound passed; the server is then restarted once, to
tell a stuck process from a loss).
5xx answers and connection errors while the store is read-only, full or down are expected: they are counted as not
accepted and the sender sends the same message again.

Secrets: the endpoint's webhook password and the admin token are random per run; every line the servers wrote
(stdout and stderr, captured per start) is searched for them (and for the Basic credentials in base64) at the end.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import glob
import hashlib
import http.client
import json
import os
import platform
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"


def log(message: str) -> None:
    """Progress, on standard error (the result lines go to standard output)."""
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A port nobody listens on now: bind port 0 on the loopback and give it back."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def random_text(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


# ---------------------------------------------------------------------------------------------------------------
# The receiver


class Receiver:
    """A webhook receiver on 127.0.0.1 whose behaviour the harness switches in process.

    Modes: `up` (200 at once), `slow` (200 after SLOW_SECONDS), `error` (500), `down` (not listening: the listening
    socket is closed, so connections are refused, and open keep-alive connections are cut). `flap()` cycles
    error -> up -> down -> up, one phase every `period` seconds.

    A *delivery* is a POST answered 2xx; each records the `webhook-id` header (else `Idempotency-Key`), the session,
    the echoed text and the input's trace id from the body. It is recorded just before the answer is written, so an
    answer lost on the way back (a cut connection, a killed sender) shows up later as a duplicate, as at-least-once
    delivery has it.
    """

    SLOW_SECONDS = 5.0

    def __init__(self, user: str, password: str) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.mode = "up"
        self.deliveries: list[dict] = []
        self.attempts: collections.Counter = collections.Counter()
        self.expected_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.bad_auth = 0
        self.header_mismatch = 0
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.connections: set[socket.socket] = set()
        self._flap_stop: threading.Event | None = None
        self._flap_thread: threading.Thread | None = None

    # -- listening

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver.connections.add(self.connection)

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with receiver.lock:
                        receiver.connections.discard(self.connection)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (kill -9): not a delivery, nothing to answer.
                    receiver.attempts["partial"] += 1
                    self.close_connection = True
                    return
                mode = receiver.mode
                if mode == "down":
                    # Arrived on a connection accepted just before the switch: cut it without an answer.
                    receiver.attempts["cut"] += 1
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if mode == "error":
                    receiver.attempts["500"] += 1
                    self._answer(500)
                    return
                if mode == "slow":
                    receiver.attempts["slow"] += 1
                    time.sleep(Receiver.SLOW_SECONDS)
                receiver.record(self.headers, body)
                self._answer(200)

            def do_GET(self) -> None:
                self._answer(200)

            def log_message(self, *args) -> None:
                pass

        return Handler

    def listen(self) -> None:
        with self.lock:
            if self.server is not None:
                return
        server = None
        for _ in range(50):
            try:
                server = ThreadingHTTPServer((LOOPBACK, self.port), self._handler())
                break
            except OSError:
                time.sleep(0.1)
        if server is None:
            raise RuntimeError(f"receiver cannot listen on {self.port} again")
        server.daemon_threads = True
        server.block_on_close = False
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        with self.lock:
            self.server, self.thread = server, thread

    def unlisten(self) -> None:
        with self.lock:
            server, self.server = self.server, None
            connections = list(self.connections)
        if server is not None:
            server.shutdown()
            server.server_close()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode == "down":
            self.unlisten()
        else:
            self.listen()

    def flap(self, period: float = 1.0) -> None:
        stop = threading.Event()

        def cycle() -> None:
            phases = ["error", "up", "down", "up"]
            index = 0
            while not stop.is_set():
                self.set_mode(phases[index % len(phases)])
                index += 1
                stop.wait(period)

        self._flap_stop = stop
        self._flap_thread = threading.Thread(target=cycle, daemon=True)
        self._flap_thread.start()

    def stop_flap(self) -> None:
        if self._flap_stop is not None:
            self._flap_stop.set()
            self._flap_thread.join()
            self._flap_stop = None

    def close(self) -> None:
        self.stop_flap()
        self.unlisten()

    # -- records

    def record(self, headers, body: bytes) -> None:
        webhook_id = headers.get("webhook-id")
        key = headers.get("Idempotency-Key")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        output = payload.get("AIOutput") or {}
        entry = {
            "t": time.time(),
            "id": webhook_id or key,
            "session": payload.get("sessionId"),
            "user": payload.get("userId"),
            "text": output.get("text"),
            "trace": output.get("traceId"),
            "digest": hashlib.sha256(body).hexdigest(),
            "body": body.decode(errors="replace"),
            "headers": {k: v for k, v in headers.items() if k.lower() != "authorization"},
        }
        with self.lock:
            if webhook_id is not None and key is not None and webhook_id != key:
                self.header_mismatch += 1
            if headers.get("Authorization") != self.expected_auth:
                self.bad_auth += 1
            self.attempts["200"] += 1
            self.deliveries.append(entry)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.deliveries)

    def delivered_traces(self) -> set:
        with self.lock:
            return {entry["trace"] for entry in self.deliveries}


# ---------------------------------------------------------------------------------------------------------------
# HTTP client helpers


def http_request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 10.0):
    """One request on a fresh connection; returns (status, body bytes)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------------------------
# The server


class Parley:
    """One `parley serve` deployment folder: starts, kills and restarts the process on a fixed port (so a restarted
    instance keeps its instance id), each start's stdout and stderr captured to its own files under logs/.

    A supervisor thread notices an exit nobody asked for (a crash), records it and restarts the server, as a
    process manager would, so the scenario can still count what was lost."""

    def __init__(self, binary: str, folder: str, port: int, admin_token: str, log_level: str) -> None:
        self.binary = binary
        self.folder = folder
        self.port = port
        self.admin_token = admin_token
        self.log_level = log_level
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.lock = threading.RLock()
        self.expected_exit = False
        self.unexpected_exits: list[dict] = []
        self.kills = 0
        self._supervise = threading.Event()
        self._supervisor: threading.Thread | None = None
        os.makedirs(os.path.join(folder, "logs"), exist_ok=True)

    def log_files(self) -> list[str]:
        return sorted(glob.glob(os.path.join(self.folder, "logs", "*")))

    def _spawn(self) -> None:
        self.starts += 1
        base = os.path.join(self.folder, "logs", f"serve-{self.starts:02d}")
        out = open(base + ".stdout", "wb")
        err = open(base + ".stderr", "wb")
        try:
            self.process = subprocess.Popen(
                [self.binary, "serve", "--config", "parley.yaml", "--log-level", self.log_level],
                cwd=self.folder,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        finally:
            out.close()
            err.close()
        self.expected_exit = False

    def ready(self, timeout: float = 2.0) -> int | None:
        try:
            status, _ = http_request(self.port, "GET", "/ready", timeout=timeout)
            return status
        except (OSError, http.client.HTTPException):
            return None

    def start(self, timeout: float = 60.0) -> float:
        """Starts the server and waits for /ready 200; returns the seconds it took. Raises when it exits or is not
        ready in time (the process is then killed)."""
        with self.lock:
            started = time.monotonic()
            self._spawn()
            process = self.process
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"parley serve exited with {process.returncode} while starting ({self.last_log_lines()})")
            if self.ready(timeout=1.0) == 200:
                return time.monotonic() - started
            time.sleep(0.1)
        self.expected_exit = True
        process.kill()
        process.wait()
        raise RuntimeError(f"parley serve not ready after {timeout:.0f}s ({self.last_log_lines()})")

    def last_log_lines(self, count: int = 5) -> str:
        files = [f for f in self.log_files() if f.endswith(".stderr")]
        if not files:
            return ""
        with open(files[-1], errors="replace") as file:
            lines = file.read().splitlines()
        return " | ".join(lines[-count:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        with self.lock:
            self.expected_exit = True
            if self.alive():
                self.process.send_signal(signal.SIGKILL)
                self.kills += 1
            self.process.wait()

    def terminate(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; returns the exit code (None when it had to be killed after `timeout`)."""
        with self.lock:
            self.expected_exit = True
            if self.process is None:
                return None
            if self.process.poll() is not None:
                return self.process.returncode
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return None

    # -- supervision

    def supervise(self) -> None:
        self._supervise.set()
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._watch, daemon=True)
            self._supervisor.start()

    def unsupervise(self) -> None:
        self._supervise.clear()

    def _watch(self) -> None:
        while True:
            time.sleep(0.25)
            if not self._supervise.is_set():
                continue
            with self.lock:
                if self.process is None or self.expected_exit or self.process.poll() is None:
                    continue
                code = self.process.returncode
                self.unexpected_exits.append({"t": time.time(), "code": code, "log": self.last_log_lines(8)})
                log(f"parley serve exited unexpectedly with {code}: {self.last_log_lines(3)}")
                self.expected_exit = True  # this process is accounted for; a new one is started below
            while self._supervise.is_set():
                try:
                    self.start(timeout=20)
                    log("parley serve restarted by the supervisor")
                    break
                except RuntimeError as error:
                    log(f"supervisor restart failed: {error}")
                    time.sleep(2)

    # -- admin API

    def admin_get(self, path: str, timeout: float = 30.0):
        status, body = http_request(self.port, "GET", path, headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=timeout)
        return status, body


# ---------------------------------------------------------------------------------------------------------------
# Load


class Load:
    """SESSIONS senders, one thread each, posting "1", "2", ... at `rate` messages a second per session.

    Counting: a message is *accepted* only when its POST got a 2xx (its trace id is kept). The number n is
    incremented only after a 2xx, so a POST that failed (connection refused or cut while the server was killed, a
    timeout, a 5xx while the store was failing) is sent again later with the same text. A POST cut by a kill may
    nevertheless have been stored before the process died: that input then runs too and its echo "n" is delivered
    under its own trace id, next to the accepted copy's. Such deliveries are counted apart (`unacked`): they are not
    lost or duplicated messages (the client never learnt they were accepted), and the order check looks only at the
    accepted copies. Without this, counting texts would either hide a loss behind the unacknowledged copy or count
    it as a duplicate.
    """

    def __init__(self, port: int, token: str, sessions: list[str], user: str, rate: float, timeout: float = 15.0) -> None:
        self.port = port
        self.token = token
        self.sessions = sessions
        self.user = user
        self.interval = 1.0 / rate
        self.timeout = timeout
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.accepted: dict[str, list[dict]] = {session: [] for session in sessions}
        # Every attempt: (start, end, session, n, outcome) with outcome an HTTP status or "connection"/"timeout".
        self.attempts: list[tuple] = []
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for session in self.sessions:
            thread = threading.Thread(target=self._send, args=(session,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _send(self, session: str) -> None:
        n = 1
        next_at = time.monotonic() + random.random() * self.interval
        while not self.stopping.wait(max(0.0, next_at - time.monotonic())):
            body = json.dumps({"userId": self.user, "sessionId": session, "text": str(n)}).encode()
            started = time.time()
            outcome: int | str
            trace = None
            try:
                status, answer = http_request(
                    self.port, "POST", "/" + self.token, body=body, headers={"Content-Type": "application/json"}, timeout=self.timeout
                )
                outcome = status
                if 200 <= status < 300:
                    trace = json.loads(answer).get("traceId")
            except socket.timeout:
                outcome = "timeout"
            except (OSError, http.client.HTTPException, ValueError):
                outcome = "connection"
            ended = time.time()
            with self.lock:
                self.attempts.append((started, ended, session, n, outcome))
                if trace is not None:
                    self.accepted[session].append({"n": n, "trace": trace, "t": ended})
            if trace is not None:
                n += 1
            next_at += self.interval
            if next_at < time.monotonic() - self.interval:
                next_at = time.monotonic()

    def accepted_traces(self) -> dict:
        with self.lock:
            return {entry["trace"]: (session, entry["n"]) for session, entries in self.accepted.items() for entry in entries}

    def first_accept_after(self, moment: float) -> float | None:
        """The end time of the first 2xx for a POST started after `moment`."""
        with self.lock:
            ends = [end for start, end, _, _, outcome in self.attempts if start >= moment and isinstance(outcome, int) and 200 <= outcome < 300]
        return min(ends) if ends else None

    def outcome_counts(self) -> dict:
        counts: collections.Counter = collections.Counter()
        with self.lock:
            for _, _, _, _, outcome in self.attempts:
                if isinstance(outcome, int):
                    counts[f"{outcome // 100}xx"] += 1
                    if not 200 <= outcome < 300:
                        counts[str(outcome)] += 1
                else:
                    counts[outcome] += 1
        return dict(counts)


# ---------------------------------------------------------------------------------------------------------------
# Filesystems and PostgreSQL


def run(command: list[str], check: bool = False, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=check, **kwargs)


class Mounts:
    """Mounts the scenario made (tmpfs, loop-mounted ext4 images), unmounted at the end."""

    def __init__(self) -> None:
        self.points: list[str] = []

    def tmpfs(self, point: str, size: str) -> str | None:
        """Mounts a tmpfs; returns why it could not, or None."""
        os.makedirs(point, exist_ok=True)
        result = run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", point])
        if result.returncode != 0:
            return f"mount -t tmpfs failed: {(result.stderr or result.stdout).strip()}"
        self.points.append(point)
        return None

    def ext4(self, point: str, image: str, size_mb: int) -> str | None:
        for tool in ("mkfs.ext4", "chattr", "lsattr"):
            if shutil.which(tool) is None:
                return f"{tool} not found"
        os.makedirs(point, exist_ok=True)
        with open(image, "wb") as file:
            file.truncate(size_mb * 1024 * 1024)
        result = run(["mkfs.ext4", "-q", "-F", image])
        if result.returncode != 0:
            return f"mkfs.ext4 failed: {result.stderr.strip()}"
        result = run(["mount", "-o", "loop", image, point])
        if result.returncode != 0:
            return f"mount -o loop failed: {(result.stderr or result.stdout).strip()}"
        self.points.append(point)
        return None

    def release(self) -> None:
        for point in reversed(self.points):
            run(["chattr", "-R", "-i", point])
            run(["mount", "-o", "remount,rw", point])
            result = run(["umount", point])
            if result.returncode != 0:
                time.sleep(1)
                run(["umount", "-l", point])
        self.points.clear()


def mounting_allowed(scratch: str) -> str | None:
    """None when this process may mount a tmpfs (root with CAP_SYS_ADMIN), else why not."""
    if os.geteuid() != 0:
        return "not root: mounting a tmpfs needs CAP_SYS_ADMIN"
    if shutil.which("mount") is None:
        return "mount not found"
    point = os.path.join(scratch, "mount-probe")
    os.makedirs(point, exist_ok=True)
    result = run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", point])
    if result.returncode != 0:
        return f"mount -t tmpfs not permitted: {(result.stderr or result.stdout).strip()}"
    run(["umount", point])
    return None


def fill(directory: str) -> tuple[str, int]:
    """Writes a filler file until the filesystem is full; returns its path and size."""
    path = os.path.join(directory, "filler")
    written = 0
    with open(path, "wb", buffering=0) as file:
        for chunk in (1 << 20, 1 << 16, 4096, 512):
            block = b"\0" * chunk
            while True:
                try:
                    written += file.write(block)
                except OSError:
                    break
    return path, written


class Postgres:
    """The throwaway cluster of scripts/postgres: a fresh schema per scenario, and stop/start for the restart."""

    def __init__(self, url: str, directory: str | None) -> None:
        self.url = url
        self.directory = directory
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in re.findall(r"\d+", p)])
        self.bin = bins[-1] if bins else None
        self.psql = os.path.join(self.bin, "psql") if self.bin and os.path.exists(os.path.join(self.bin, "psql")) else shutil.which("psql")

    def store_url(self, schema: str) -> str:
        return f"{self.url}{'&' if '?' in self.url else '?'}schema={schema}"

    def sql(self, statement: str) -> str | None:
        if self.psql is None:
            return None
        result = run([self.psql, self.url, "-Atc", statement], timeout=30)
        return result.stdout.strip() if result.returncode == 0 else None

    def drop(self, schema: str) -> None:
        self.sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def _as_owner(self, command: list[str]) -> subprocess.CompletedProcess:
        data = os.path.join(self.directory, "data")
        if os.geteuid() == 0:
            owner = pwd.getpwuid(os.stat(data).st_uid).pw_name
            command = ["runuser", "-u", owner, "--"] + command
        return run(command, cwd=self.directory, timeout=120)

    def can_restart(self) -> str | None:
        if not self.directory:
            return "PARLEY_TEST_POSTGRES_DIR not set"
        if not os.path.isdir(os.path.join(self.directory, "data")):
            return f"{self.directory}/data is not a PostgreSQL data directory"
        if self.bin is None:
            return "pg_ctl not found"
        return None

    def stop_mode(self) -> str:
        """`immediate` (a crash: no checkpoint, backends killed) when commits are synchronous; `fast` when the cluster
        runs with synchronous_commit=off (scripts/postgres's test setting), since an immediate stop would then drop
        commits PostgreSQL had already acknowledged: a loss of the test cluster, not of Parley.
        PARLEY_FAULTS_PG_STOP=immediate|fast forces one."""
        forced = os.environ.get("PARLEY_FAULTS_PG_STOP")
        if forced in ("immediate", "fast", "smart"):
            return forced
        return "immediate" if self.sql("SHOW synchronous_commit") == "on" else "fast"

    def stop(self, mode: str) -> str:
        result = self._as_owner([os.path.join(self.bin, "pg_ctl"), "-D", os.path.join(self.directory, "data"), "-m", mode, "-w", "stop"])
        return (result.stdout + result.stderr).strip()

    def start(self) -> str:
        # `restart` on a stopped cluster starts it with the options of its last start (postmaster.opts: port, socket
        # directory, TLS, fsync settings), which `start` would not reuse.
        result = self._as_owner(
            [os.path.join(self.bin, "pg_ctl"), "-D", os.path.join(self.directory, "data"), "-l", os.path.join(self.directory, "server.log"),
             "-w", "-t", "60", "restart"]
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {(result.stdout + result.stderr).strip()}")
        return (result.stdout + result.stderr).strip()


# ---------------------------------------------------------------------------------------------------------------
# Scenarios


class Skip(Exception):
    """The scenario cannot run here (no mount permission, no PostgreSQL): reported as SKIP, never as a pass."""


# The echo also updates a copilot tile: its workspace read and write are what four concurrent senders once
# deadlocked the server on (issue 25). On a webhook endpoint a tile update is never delivered to the webhook.
ECHO_FLOW = (
    'flow: echo\nnodes:\n  say: { say: "echo: {{input.text}}", next: tile }\n'
    '  tile: { copilot: { tile: last, type: nextAction, text: "said {{input.text}}" } }\n'
)


class Context:
    """What every scenario shares: options, secrets, the run's scratch directory."""

    def __init__(self, options) -> None:
        self.options = options
        self.short = options.short
        self.binary = os.path.abspath(options.binary)
        self.run_id = time.strftime("%Y%m%d%H%M%S") + "_" + secrets.token_hex(3)
        self.password = random_text(24)
        self.admin_token = random_text(40)
        self.url_token = secrets.token_hex(32)
        self.scratch = options.artifacts or tempfile.mkdtemp(prefix="parley-faults-")
        os.makedirs(self.scratch, exist_ok=True)
        self.mount_problem = mounting_allowed(self.scratch)
        url = os.environ.get("PARLEY_TEST_POSTGRES_URL") or None
        self.postgres = Postgres(url, os.environ.get("PARLEY_TEST_POSTGRES_DIR") or None) if url else None
        self.log_files: list[str] = []

    def pick(self, short, long):
        return short if self.short else long


class Deployment:
    """One scenario's folder, store, receiver, server and load."""

    def __init__(self, ctx: Context, name: str, store: str) -> None:
        self.ctx = ctx
        self.name = name
        self.folder = os.path.join(ctx.scratch, name)
        if os.path.exists(self.folder):
            shutil.rmtree(self.folder)
        os.makedirs(os.path.join(self.folder, "flows"))
        with open(os.path.join(self.folder, "flows", "echo.yaml"), "w") as file:
            file.write(ECHO_FLOW)
        self.mounts = Mounts()
        self.store_kind = store
        self.store_dir: str | None = None
        self.schema: str | None = None
        self.notes: list[str] = []
        # What a fault itself found wrong (a server that stopped answering): the scenario fails with it.
        self.problems: list[str] = []
        self.fault_window: tuple[float, float] | None = None
        if store == "sqlite":
            self.store_dir = os.path.join(self.folder, "store")
            os.makedirs(self.store_dir)
        elif store == "sqlite-tmpfs":
            if ctx.mount_problem:
                raise Skip(ctx.mount_problem)
            self.mount_point = os.path.join(self.folder, "store")
            problem = self.mounts.tmpfs(self.mount_point, ctx.pick("16m", "32m"))
            if problem:
                raise Skip(problem)
            self.store_dir = self.mount_point
        elif store == "sqlite-ext4":
            if ctx.mount_problem:
                raise Skip(ctx.mount_problem)
            self.mount_point = os.path.join(self.folder, "mnt")
            problem = self.mounts.ext4(self.mount_point, os.path.join(self.folder, "ext4.img"), 128)
            if problem:
                self.mounts.release()
                raise Skip(problem)
            self.store_dir = os.path.join(self.mount_point, "store")
            os.makedirs(self.store_dir)
        elif store == "postgres":
            if ctx.postgres is None:
                raise Skip("PARLEY_TEST_POSTGRES_URL not set")
            self.schema = f"faults_{ctx.run_id}_{name.replace('-', '_')}"
        self.receiver = Receiver("parley", ctx.password)
        port = free_port()
        self.write_config(port)
        self.parley = Parley(ctx.binary, self.folder, port, ctx.admin_token, ctx.options.log_level)
        self.sessions = [f"{name}-{ctx.run_id}-s{i}" for i in range(ctx.options.sessions)]
        self.user = "faults-user"
        self.load = Load(port, ctx.url_token, self.sessions, self.user, ctx.options.rate)

    def write_config(self, port: int) -> None:
        if self.store_kind == "postgres":
            store = self.ctx.postgres.store_url(self.schema)
        else:
            store = "sqlite:" + os.path.join(self.store_dir, "parley.sqlite")
        config = f"""\
server: {{ host: 127.0.0.1, port: {port}, adminToken: "{self.ctx.admin_token}" }}
store: "{store}"
flows: flows
endpoints:
  - name: faults
    type: webhook
    urlToken: {self.ctx.url_token}
    flow: echo
    webhook: {{ url: "http://127.0.0.1:{self.receiver.port}/hook", user: parley, password: "{self.ctx.password}" }}
"""
        with open(os.path.join(self.folder, "parley.yaml"), "w") as file:
            file.write(config)

    def close(self) -> None:
        self.parley.unsupervise()
        if self.parley.alive():
            self.parley.terminate(10)
        self.receiver.close()
        self.mounts.release()
        if self.schema and self.ctx.postgres:
            self.ctx.postgres.drop(self.schema)


# -- faults: each makes its fault, holds it, removes it, and returns (fault start, fault end) in wall time.


def fault_none(env: Deployment) -> tuple[float, float]:
    started = time.time()
    time.sleep(env.ctx.pick(3, 20))
    return started, started


def receiver_mode_for(env: Deployment, mode: str, seconds: float) -> tuple[float, float]:
    """Puts the receiver in `mode` for `seconds`, then back up; returns when the fault started and ended."""
    started = time.time()
    env.receiver.set_mode(mode)
    time.sleep(seconds)
    env.receiver.set_mode("up")
    return started, time.time()


def fault_receiver_down(env: Deployment) -> tuple[float, float]:
    return receiver_mode_for(env, "down", env.ctx.pick(5, 60))


def fault_receiver_slow(env: Deployment) -> tuple[float, float]:
    return receiver_mode_for(env, "slow", env.ctx.pick(6, 40))


def fault_receiver_flapping(env: Deployment) -> tuple[float, float]:
    seconds = env.ctx.pick(6, 60)
    started = time.time()
    env.receiver.flap(1.0)
    time.sleep(seconds)
    env.receiver.stop_flap()
    env.receiver.set_mode("up")
    return started, time.time()


def fault_kill9(env: Deployment) -> tuple[float, float]:
    """kill -9 every few seconds (jittered, so kills land in different phases of a turn or a delivery), restarted at
    once each time; the short form makes 3 kills."""
    kills = env.ctx.pick(3, None)
    duration = env.ctx.pick(None, 60.0 if env.store_kind != "postgres" else 30.0)
    every = env.ctx.pick(3.0, 5.0)
    started = time.time()
    restarts = []
    count = 0
    while True:
        time.sleep(every * random.uniform(0.5, 1.5))
        env.parley.kill9()
        count += 1
        restarts.append(env.parley.start())
        if kills is not None and count >= kills:
            break
        if duration is not None and time.time() - started >= duration:
            break
    env.notes.append(f"kills={count} restart_s_max={max(restarts):.1f}")
    return started, time.time()


def build_backlog(env: Deployment) -> None:
    """Holds the receiver down for a few seconds, then brings it back just as the store fault begins: the outbox
    then has messages to deliver while the store cannot record that they were delivered (so they must be sent
    again: duplicates, never losses), besides the new requests it cannot store."""
    env.receiver.set_mode("down")
    time.sleep(env.ctx.pick(2, 5))


def fault_read_only(env: Deployment) -> tuple[float, float]:
    """Makes the store read-only for root. First `mount -o remount,ro`, as an operator would; Linux refuses that
    with EBUSY while any file of the filesystem is open for writing, which SQLite's always is. Then the fallback:
    the store sits on an ext4 image, where the immutable attribute (`chattr +i`) stops every write to the database
    and its WAL with EPERM, even root's and even through descriptors already open, and stops new files in the
    folder (journals). The `-shm` index is left writable: it is written through a shared mapping, and a write fault
    on an immutable mapped ext4 file is a SIGBUS, an artifact of this method that no real read-only disk produces."""
    seconds = env.ctx.pick(5, 30)
    build_backlog(env)
    started = time.time()
    result = run(["mount", "-o", "remount,ro", env.mount_point])
    if result.returncode == 0:
        env.notes.append("method=remount-ro")
        env.receiver.set_mode("up")
        time.sleep(seconds)
        run(["mount", "-o", "remount,rw", env.mount_point], check=True)
        return started, time.time()
    reason = (result.stderr or result.stdout).strip().splitlines()[0] if (result.stderr or result.stdout).strip() else f"rc={result.returncode}"
    env.notes.append("method=chattr+i")
    env.notes.append(f"remount-ro refused: {reason}")
    targets = [path for path in glob.glob(os.path.join(env.store_dir, "*")) if not path.endswith("-shm")]
    run(["chattr", "+i"] + targets, check=True)
    run(["chattr", "+i", env.store_dir], check=True)
    env.receiver.set_mode("up")
    time.sleep(seconds)
    run(["chattr", "-i", env.store_dir], check=True)
    run(["chattr", "-i"] + targets, check=True)
    return started, time.time()


def fault_disk_full(env: Deployment) -> tuple[float, float]:
    seconds = env.ctx.pick(5, 30)
    build_backlog(env)
    started = time.time()
    path, written = fill(env.store_dir)
    env.notes.append(f"filler={written // 1024}KiB")
    env.receiver.set_mode("up")
    time.sleep(seconds)
    os.remove(path)
    return started, time.time()


def fault_postgres_restart(env: Deployment) -> tuple[float, float]:
    seconds = env.ctx.pick(3, 20)
    mode = env.ctx.postgres.stop_mode()
    env.notes.append(f"pg_stop={mode} down_s={seconds}")
    started = time.time()
    env.ctx.postgres.stop(mode)
    time.sleep(seconds)
    env.ctx.postgres.start()
    return started, time.time()


def fault_sender_burst(env: Deployment) -> tuple[float, float]:
    """16 concurrent senders (their own sessions) post as fast as they can while /health is polled: before issue 25's
    fix, four to eight of them deadlocked the server on two cores."""
    started = time.time()
    seconds = env.ctx.pick(5, 30)
    stop = threading.Event()
    answered = {"2xx": 0, "other": 0}
    lock = threading.Lock()

    def sender(index: int) -> None:
        number = 0
        while not stop.is_set():
            number += 1
            body = json.dumps({"userId": "burst-user", "sessionId": f"burst-{env.ctx.run_id}-{index}", "text": str(number)}).encode()
            try:
                status, _ = http_request(env.parley.port, "POST", "/" + env.ctx.url_token, body, {"Content-Type": "application/json"}, timeout=15)
            except OSError:
                status = 0
            with lock:
                answered["2xx" if 200 <= status < 300 else "other"] += 1

    threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(16)]
    for thread in threads:
        thread.start()
    slowest = 0.0
    deadline = time.time() + seconds
    while time.time() < deadline:
        began = time.monotonic()
        try:
            status, _ = http_request(env.parley.port, "GET", "/health", timeout=10)
        except OSError as error:
            status = f"no answer ({error})"
        slowest = max(slowest, time.monotonic() - began)
        if status != 200:
            env.problems.append(f"/health answered {status} during the burst")
            break
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(20)
    env.notes.append(f"burst posts 2xx={answered['2xx']} other={answered['other']} health_slowest_s={slowest:.2f}")
    if answered["2xx"] == 0:
        env.problems.append("no burst post was accepted")
    return started, time.time()


def needs_restartable_postgres(ctx: Context) -> str | None:
    if ctx.postgres is None:
        return "PARLEY_TEST_POSTGRES_URL not set"
    return ctx.postgres.can_restart()


# name, store, fault, and a check that says why the scenario cannot run here (None when it can).
SCENARIOS = [
    ("baseline", "sqlite", fault_none, None),
    ("receiver-down", "sqlite", fault_receiver_down, None),
    ("receiver-slow", "sqlite", fault_receiver_slow, None),
    ("receiver-flapping", "sqlite", fault_receiver_flapping, None),
    ("kill-9", "sqlite", fault_kill9, None),
    ("sender-burst", "sqlite", fault_sender_burst, None),
    ("sqlite-read-only", "sqlite-ext4", fault_read_only, None),
    ("disk-full", "sqlite-tmpfs", fault_disk_full, None),
    ("postgres-restart", "postgres", fault_postgres_restart, needs_restartable_postgres),
    ("postgres-kill-9", "postgres", fault_kill9, None),
]


def transcript(env: Deployment, session: str) -> list[dict]:
    status, body = env.parley.admin_get(f"/api/v1/sessions/faults/{env.user}/{session}/transcript")
    if status == 404:
        return []
    if status != 200:
        raise RuntimeError(f"transcript of {session}: HTTP {status}")
    entries = []
    for line in body.decode().splitlines():
        if line.strip():
            entry = json.loads(line)
            if entry.get("parley") == "transcript":
                continue  # the header line
            entries.append({"turn": entry.get("turn"), "trace": entry.get("traceId"), "text": (entry.get("input") or {}).get("text")})
    return entries


def stall_diagnostics(env: Deployment) -> None:
    """Writes what might explain a stall next to the logs: the server's PostgreSQL sessions (state, wait, query)."""
    if env.schema and env.ctx.postgres:
        activity = env.ctx.postgres.sql(
            "SELECT pid, state, wait_event_type, wait_event, now() - state_change AS for, left(query, 200) "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY state_change"
        )
        with open(os.path.join(env.folder, "logs", "stall-pg_stat_activity.txt"), "w") as file:
            file.write((activity or "(psql unavailable)") + "\n")


def admin_count(env: Deployment, path: str, key: str) -> int | None:
    try:
        status, body = env.parley.admin_get(path)
    except (OSError, http.client.HTTPException):
        return None
    if status != 200:
        return None
    return len(json.loads(body).get(key, []))


def run_scenario(ctx: Context, name: str, store: str, fault) -> dict:
    began = time.monotonic()
    env = Deployment(ctx, name, store)
    result: dict = {"scenario": name, "store": store}
    failures: list[str] = []
    try:
        env.receiver.listen()
        env.parley.start()
        env.parley.supervise()
        env.load.start()
        time.sleep(ctx.pick(2, 5))
        fault_start, fault_end = fault(env)
        env.fault_window = (fault_start, fault_end)

        # After the fault: the server must accept again, without a restart when it can.
        recover_bound = 30.0
        while time.time() - fault_end < recover_bound and env.load.first_accept_after(fault_end) is None:
            time.sleep(0.1)
        first = env.load.first_accept_after(fault_end)
        if first is None:
            env.notes.append(f"no 2xx within {recover_bound:.0f}s after the fault was removed: restarted")
            log(f"{name}: no 2xx {recover_bound:.0f}s after the fault was removed; restarting parley serve")
            result["restarted_to_recover"] = True
            env.parley.unsupervise()
            env.parley.terminate(10)
            env.parley.start()
            env.parley.supervise()
        else:
            result["recover_seconds"] = round(first - fault_end, 2)
        time.sleep(ctx.pick(2, 5))
        env.load.stop()
        load_stopped = time.time()

        # Drain: every accepted message's echo at the receiver. The bound is 60 s plus the longest backoff the fault
        # can have built up: a message failing since the fault began waits up to about as long again before its
        # next attempt (0.5-1 s, 1-2 s, ... doubling), so a 60 s outage can leave one waiting about a minute more.
        bound = 60.0 + (fault_end - fault_start)
        accepted = env.load.accepted_traces()
        while time.time() - load_stopped < bound:
            if set(accepted) <= env.receiver.delivered_traces():
                break
            time.sleep(0.2)
        drained = set(accepted) <= env.receiver.delivered_traces()
        result["drain_seconds"] = round(time.time() - load_stopped, 1) if drained else None
        if not drained:
            # Stalled: record what the store and the process say, then restart the server once to tell a stuck
            # process (its work still pending in the store, delivered after the restart) from a real loss.
            missing = len(set(accepted) - env.receiver.delivered_traces())
            result["stalled"] = missing
            result["stall_pending_inputs"] = admin_count(env, "/api/v1/inbox?status=pending&limit=1000", "inputs")
            result["stall_pending_messages"] = admin_count(env, "/api/v1/outbox?status=pending&limit=1000", "messages")
            stall_diagnostics(env)
            log(f"{name}: {missing} accepted messages undelivered {bound:.0f}s after the load stopped "
                f"(pending inputs {result['stall_pending_inputs']}, messages {result['stall_pending_messages']}); restarting parley serve")
            env.parley.unsupervise()
            result["stall_stop_code"] = env.parley.terminate(30)
            env.parley.start()
            restarted = time.time()
            while time.time() - restarted < 60 and not set(accepted) <= env.receiver.delivered_traces():
                time.sleep(0.2)
            after = len(set(accepted) - env.receiver.delivered_traces())
            result["stall_delivered_after_restart"] = missing - after
            env.notes.append(
                f"stalled: {missing} undelivered {bound:.0f}s after the load stopped "
                f"(inputs pending {result['stall_pending_inputs']}, messages pending {result['stall_pending_messages']}), "
                f"SIGTERM exit {result['stall_stop_code']}, {missing - after} delivered after a restart"
            )
        time.sleep(1.0)  # late duplicates

        env.parley.unsupervise()
        try:
            transcripts = {session: transcript(env, session) for session in env.sessions}
        except (OSError, http.client.HTTPException, RuntimeError) as error:
            transcripts = None
            failures.append(f"transcripts unreadable: {error}")
        result["dead_letters"] = admin_count(env, "/api/v1/outbox?status=dead", "messages")
        result["dead_inputs"] = admin_count(env, "/api/v1/inbox?status=dead", "inputs")
        result["pending_messages"] = admin_count(env, "/api/v1/outbox?status=pending", "messages")
        stop_code = env.parley.terminate(30)
        result["stop_code"] = stop_code
        if stop_code != 0:
            failures.append(f"parley serve did not stop cleanly on SIGTERM (exit {stop_code})")
    except Skip:
        env.close()
        raise
    except Exception as error:  # the harness itself or the server failed to start: a failure, with the reason
        failures.append(f"harness error: {error}")
        traceback.print_exc(file=sys.stderr)
        try:
            env.load.stop()
        except Exception:
            pass
        transcripts = None
    finally:
        env.close()
        ctx.log_files.extend(env.parley.log_files())

    # -- the books
    # The books cover the load's sessions; a fault's own traffic (sender-burst) is its own check.
    sessions = set(env.sessions)
    deliveries = [entry for entry in env.receiver.snapshot() if entry.get("session") in sessions]
    with open(os.path.join(env.folder, "deliveries.jsonl"), "w") as file:
        for entry in deliveries:
            file.write(json.dumps(entry) + "\n")
    with open(os.path.join(env.folder, "accepted.jsonl"), "w") as file:
        with env.load.lock:
            for start, end, session, n, outcome in env.load.attempts:
                file.write(json.dumps({"start": start, "end": end, "session": session, "n": n, "outcome": outcome}) + "\n")
            for session, entries in env.load.accepted.items():
                for entry in entries:
                    file.write(json.dumps({"accepted": entry["trace"], "session": session, "n": entry["n"], "t": entry["t"]}) + "\n")
    accepted = env.load.accepted_traces()
    seen: set = set()
    digests: dict = {}
    duplicated = 0
    digest_mismatch = 0
    order_violations = 0
    highest: dict = {}
    for entry in deliveries:
        if entry["id"] in seen:
            duplicated += 1
            if digests[entry["id"]] != entry["digest"]:
                digest_mismatch += 1
                first = next(e for e in deliveries if e["id"] == entry["id"])
                failures.append(f"delivery {entry['id']} sent again with another body: {first['body']} then {entry['body']}")
            continue
        seen.add(entry["id"])
        digests[entry["id"]] = entry["digest"]
        if entry["trace"] not in accepted:
            continue
        session, n = accepted[entry["trace"]]
        text_n = int(entry["text"].removeprefix("echo: ")) if entry["text"] and entry["text"].removeprefix("echo: ").isdigit() else None
        if text_n != n or entry["session"] != session:
            failures.append(f"delivery {entry['id']} carries {entry['session']}/{entry['text']!r}, expected {session}/echo: {n}")
        if n < highest.get(session, 0):
            order_violations += 1
        else:
            highest[session] = n
    delivered_traces = {entry["trace"] for entry in deliveries}
    lost = [trace for trace in accepted if trace not in delivered_traces]
    unacked = len({entry["trace"] for entry in deliveries if entry["trace"] not in accepted})
    unparsable = sum(1 for entry in deliveries if entry["trace"] is None)
    if unparsable:
        failures.append(f"{unparsable} deliveries without an AIOutput.traceId")

    processed = None
    turn_repeats = 0
    turn_order_violations = 0
    stored_after_error = 0
    if transcripts is not None:
        in_transcripts = set()
        for session, entries in transcripts.items():
            traces = [entry["trace"] for entry in entries]
            turn_repeats += len(traces) - len(set(traces))
            in_transcripts |= set(traces)
            turns = [entry["turn"] for entry in entries]
            if turns != list(range(1, len(turns) + 1)):
                turn_order_violations += 1
            numbers = [accepted[t][1] for t in traces if t in accepted]
            turn_order_violations += sum(1 for a, b in zip(numbers, numbers[1:]) if b <= a)
        processed = sum(1 for trace in accepted if trace in in_transcripts)
        # An input that ran although the client was never told it was accepted is expected only when its POST was
        # cut (connection error or timeout); when every failed POST of that message got a clean 5xx answer, the
        # server said "not accepted" about a request it had stored, and the client's retry made it run twice.
        outcomes: dict = collections.defaultdict(list)
        for _, _, session, n, outcome in env.load.attempts:
            outcomes[(session, n)].append(outcome)
        for session, entries in transcripts.items():
            for entry in entries:
                if entry["trace"] in accepted or not (entry["text"] or "").isdigit():
                    continue
                failed = [o for o in outcomes[(session, int(entry["text"]))] if not (isinstance(o, int) and 200 <= o < 300)]
                if failed and all(isinstance(o, int) for o in failed):
                    stored_after_error += 1

    outcome_counts = env.load.outcome_counts()
    with env.load.lock:
        latencies = [end - start for start, end, _, _, _ in env.load.attempts]
    result["max_post_seconds"] = round(max(latencies), 2) if latencies else None
    result.update(
        accepted=len(accepted),
        processed=processed,
        delivered=len(seen),
        duplicated=duplicated,
        lost=len(lost),
        order_violations=order_violations,
        unacked=unacked,
        turn_repeats=turn_repeats,
        turn_order_violations=turn_order_violations,
        answers=outcome_counts,
        receiver_attempts=dict(env.receiver.attempts),
        server_exits=env.parley.unexpected_exits,
        kills=env.parley.kills,
        starts=env.parley.starts,
        notes=env.notes,
        seconds=round(time.monotonic() - began, 1),
    )
    if env.fault_window:
        start, end = env.fault_window
        result["accepted_during_fault"] = sum(1 for s in env.load.accepted.values() for e in s if start <= e["t"] <= end)
    if result.get("stalled"):
        failures.append(
            f"stalled: {result['stalled']} accepted messages not delivered within the drain bound "
            f"({result.get('stall_delivered_after_restart')} of them delivered after restarting the server)"
        )
    if lost:
        failures.append(f"{len(lost)} accepted messages never delivered (e.g. trace {lost[0]})")
    if order_violations:
        failures.append(f"{order_violations} deliveries out of order")
    if turn_repeats:
        failures.append(f"{turn_repeats} turns ran twice")
    if turn_order_violations:
        failures.append(f"{turn_order_violations} turn order violations in transcripts")
    if processed is not None and processed != len(accepted):
        failures.append(f"{len(accepted) - processed} accepted inputs have no turn in the transcript")
    if digest_mismatch:
        failures.append(f"{digest_mismatch} duplicates with a different body")
    failures.extend(env.problems)
    if env.receiver.header_mismatch:
        failures.append(f"{env.receiver.header_mismatch} deliveries with webhook-id != Idempotency-Key")
    if env.receiver.bad_auth:
        failures.append(f"{env.receiver.bad_auth} deliveries without the configured Basic credentials")
    if env.parley.unexpected_exits:
        codes = ", ".join(str(e["code"]) for e in env.parley.unexpected_exits)
        failures.append(f"parley serve exited {len(env.parley.unexpected_exits)} time(s) without being killed (exit {codes})")
    if outcome_counts.get("4xx"):
        failures.append(f"{outcome_counts['4xx']} valid requests answered 4xx")
    if stored_after_error:
        failures.append(f"{stored_after_error} inputs ran although their POST was answered 5xx")
    result["failures"] = failures
    result["passed"] = not failures
    return result


# ---------------------------------------------------------------------------------------------------------------
# Reporting


def line(result: dict) -> str:
    if result.get("skipped"):
        return f'scenario={result["scenario"]} SKIP reason="{result["reason"]}"'
    answers = result["answers"]
    refused = sum(v for k, v in answers.items() if k in ("5xx",))
    fields = [
        f"scenario={result['scenario']}",
        f"accepted={result['accepted']}",
        f"processed={result['processed']}",
        f"delivered={result['delivered']}",
        f"duplicated={result['duplicated']}",
        f"lost={result['lost']}",
        f"order_violations={result['order_violations']}",
        f"seconds={result['seconds']}",
        f"unacked={result['unacked']}",
        f"refused_5xx={refused}",
        f"conn_errors={answers.get('connection', 0)}",
        f"timeouts={answers.get('timeout', 0)}",
        f"recover_s={result.get('recover_seconds', 'restart' if result.get('restarted_to_recover') else '-')}",
        f"drain_s={result.get('drain_seconds')}",
        f"max_post_s={result.get('max_post_seconds')}",
        f"dead={result.get('dead_letters')}/{result.get('dead_inputs')}",
    ]
    fields += [f"note=\"{note}\"" for note in result["notes"]]
    fields.append("PASS" if result["passed"] else "FAIL")
    return " ".join(fields)


def scan_logs(ctx: Context, files: list[str]) -> dict:
    needles = {
        "webhook password": ctx.password,
        "admin token": ctx.admin_token,
        "basic credentials (base64)": base64.b64encode(f"parley:{ctx.password}".encode()).decode(),
    }
    hits: dict = {name: [] for name in needles}
    lines = 0
    for path in files:
        with open(path, "rb") as file:
            for number, raw in enumerate(file, 1):
                lines += 1
                text = raw.decode(errors="replace")
                for name, needle in needles.items():
                    if needle in text:
                        hits[name].append(f"{path}:{number}")
    return {"files": len(files), "lines": lines, "hits": hits}


def main() -> int:
    parser = argparse.ArgumentParser(description="Fault injection for Parley's webhook delivery.")
    parser.add_argument("--binary", required=True, help="the parley executable")
    parser.add_argument("--short", action="store_true", help="the short form (about 3 minutes)")
    parser.add_argument("--json", help="write a JSON summary here")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--artifacts", help="keep scenario folders and server logs here (default: a temporary folder, kept only on failure)")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--rate", type=float, default=2.0, help="messages a second per session")
    parser.add_argument("--log-level", default="debug", help="parley serve --log-level (debug: most lines to search for secrets)")
    parser.add_argument("--list", action="store_true")
    options = parser.parse_args()
    if options.list:
        for name, store, _, _ in SCENARIOS:
            print(name, store)
        return 0
    if not os.access(options.binary, os.X_OK):
        print(f"not an executable: {options.binary}", file=sys.stderr)
        return 2
    selected = SCENARIOS
    if options.only:
        wanted = set(options.only.split(","))
        unknown = wanted - {name for name, _, _, _ in SCENARIOS}
        if unknown:
            print(f"unknown scenarios: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        selected = [s for s in SCENARIOS if s[0] in wanted]

    ctx = Context(options)
    form = "short" if options.short else "long"
    log(f"{form} form, {options.sessions} sessions at {options.rate}/s each, binary {ctx.binary}, scratch {ctx.scratch}")
    if ctx.mount_problem:
        log(f"mount scenarios will be skipped: {ctx.mount_problem}")
    began = time.monotonic()
    results = []
    for name, store, fault, check in selected:
        log(f"scenario {name} ({store})")
        try:
            problem = check(ctx) if check else None
            if problem:
                raise Skip(problem)
            result = run_scenario(ctx, name, store, fault)
        except Skip as reason:
            result = {"scenario": name, "store": store, "skipped": True, "reason": str(reason), "passed": None}
        results.append(result)
        print(line(result), flush=True)
        for failure in result.get("failures", []):
            print(f"  failure: {failure}", flush=True)
        for exit_ in result.get("server_exits", []):
            print(f"  server exit {exit_['code']}: {exit_['log']}", flush=True)

    scan = scan_logs(ctx, ctx.log_files)
    leaked = {name: where for name, where in scan["hits"].items() if where}
    if leaked:
        for name, where in leaked.items():
            print(f"secrets: FAIL the {name} appears in {len(where)} log lines, e.g. {where[0]}", flush=True)
    else:
        print(f"secrets: PASS neither the webhook password nor the admin token in {scan['lines']} lines of {scan['files']} log files", flush=True)

    failed = [r["scenario"] for r in results if r.get("passed") is False]
    skipped = [r["scenario"] for r in results if r.get("skipped")]
    total = round(time.monotonic() - began, 1)
    ok = not failed and not leaked
    summary = (
        f"RESULT: {'PASS' if ok else 'FAIL'} {len(results) - len(skipped) - len(failed)} passed, {len(failed)} failed"
        f"{' (' + ', '.join(failed) + ')' if failed else ''}, {len(skipped)} skipped"
        f"{' (' + ', '.join(skipped) + ')' if skipped else ''}{', secrets leaked' if leaked else ''}; {total}s"
    )
    print(summary, flush=True)
    if options.json:
        with open(options.json, "w") as file:
            json.dump(
                {
                    "form": form,
                    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "machine": {"host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
                    "binary": ctx.binary,
                    "sessions": options.sessions,
                    "rate_per_session": options.rate,
                    "seconds": total,
                    "passed": ok,
                    "scenarios": results,
                    "secrets": {"files": scan["files"], "lines": scan["lines"], "leaks": leaked},
                },
                file,
                indent=2,
            )
    if not options.artifacts:
        if ok:
            shutil.rmtree(ctx.scratch, ignore_errors=True)
        else:
            log(f"logs kept in {ctx.scratch}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
