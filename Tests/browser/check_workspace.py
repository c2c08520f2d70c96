#!/usr/bin/env python3
"""Opens Parley's agent workspace page in headless Chromium, saves its DOM and a screenshot, and checks the tiles.

    python3 Tests/browser/check_workspace.py --base http://127.0.0.1:8080 --user U --session S --token T \\
        --out /tmp/ws --expect-tile sentiment --expect-type adaptiveCard --expect-text "Ada Lovelace"
    python3 Tests/browser/check_workspace.py --mock --out /tmp/ws          # against Tests/browser/mock_server.py
    python3 Tests/browser/check_workspace.py --url "$(parley copilot link ...)" --out /tmp/ws \\
        --expect-tile refund=adaptiveCard --click "Approve refund" --expect-after "Refund of 25 EUR approved"

Writes OUT/workspace.html (the DOM) and OUT/workspace.png (1400x900), prints what it found and exits 0 when every
expectation holds, 1 when one does not, 2 when the browser could not be run.

Engines:
- `cdp` (default): starts `chromium --headless --remote-debugging-pipe` and drives it over the DevTools protocol
  (standard library only: JSON messages on file descriptors 3 and 4). It loads the page, then re-reads the DOM every
  250 ms until every expectation holds or --wait seconds pass, so it works while the page keeps its Server-Sent
  Events stream open and while a call is still being played in.
- `cli`: `chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=8000 --dump-dom URL` and a second run
  with `--screenshot=PATH --window-size=1400,900`. Simple, but Chromium's virtual time does not advance while a
  network fetch is pending, and the page's event stream never ends: against a live stream the run only ends at
  --wait (the process is then killed and nothing is saved). Kept for pages or servers that close the stream.

Expectations (each may be repeated):
  --expect-tile ID       a tile element data-tile=ID exists (ID=TYPE also checks its data-type)
  --expect-type TYPE     some tile has data-type=TYPE
  --expect-text TEXT     the page's text contains TEXT (case-sensitive; iframe contents are not part of it)
  --expect-unknown ID    tile ID is shown flagged "not in grid" (data-unknown="true")
  --min-version N        <body data-state-version> is at least N (N renders happened)

The page: --url URL opens that link as it is (for example one that `parley copilot link` printed, with its access
parameter); without it the link is built from --base, --user, --session and --token.

Acting on the page (cdp engine): --click TEXT waits until the expectations above hold (or, without any, until the
page rendered), sets every Input.ChoiceSet of the clicked button's card that offers --choice (default 25) to it, and
clicks the button whose text is TEXT (an Adaptive Card Action.Submit posts to /copilot/action). Then it waits, again
up to --wait seconds, until every --expect-after TEXT (repeatable) is in the page's text.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from urllib.parse import quote

DEFAULT_TOKEN = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}


def find_chromium(explicit=None):
    for name in ([explicit] if explicit else []) + ["chromium", "chromium-browser", "google-chrome", "chrome"]:
        path = shutil.which(name) if name and not os.path.isabs(name) else name
        if path and os.path.exists(path):
            return path
    return None


def workspace_url(base, user, session, token):
    return "%s/copilot/?userId=%s&sessionId=%s&URLToken=%s" % (
        base.rstrip("/"), quote(user, safe=""), quote(session, safe=""), quote(token, safe=""))


# ---------------------------------------------------------------- DOM summary

class Summary(HTMLParser):
    """Collects the tiles (data-tile / data-type / data-unknown and their text), the state version and the text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.version = None
        self.connection = None
        self.tiles = {}
        self.stack = []  # (tag, tile id or None)
        self.text = []
        self.skip = 0
        self.conn_open = False
        self.conn_text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and "data-state-version" in a:
            try:
                self.version = int(a["data-state-version"])
            except ValueError:
                self.version = None
        if a.get("id") == "conn":
            self.connection = a.get("data-status")
        tile = a.get("data-tile")
        if tile is not None:
            self.tiles[tile] = {"type": a.get("data-type"), "unknown": a.get("data-unknown") == "true", "text": []}
        if tag in VOID:
            return
        if tag in ("script", "style", "template"):
            self.skip += 1
        self.stack.append((tag, tile))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            top, _ = self.stack.pop()
            if top in ("script", "style", "template"):
                self.skip -= 1
            if top == tag:
                break

    def handle_data(self, data):
        if self.skip:
            return
        self.text.append(data)
        for _, tile in self.stack:
            if tile is not None:
                self.tiles[tile]["text"].append(data)


def summarize(dom):
    parser = Summary()
    parser.feed(dom)
    parser.close()
    text = " ".join(" ".join(parser.text).split())
    tiles = {tid: {"type": t["type"], "unknown": t["unknown"], "text": " ".join(" ".join(t["text"]).split())}
             for tid, t in parser.tiles.items()}
    return {"version": parser.version, "connection": parser.connection, "tiles": tiles, "text": text}


def check(summary, args):
    """Returns [(ok, description)] for every expectation."""
    results = []
    tiles = summary["tiles"]
    for spec in args.expect_tile:
        tid, _, kind = spec.partition("=")
        tile = tiles.get(tid)
        if tile is None:
            results.append((False, "tile %r present" % tid))
        elif kind and tile["type"] != kind:
            results.append((False, "tile %r has type %r (found %r)" % (tid, kind, tile["type"])))
        else:
            results.append((True, "tile %r present (type %s)" % (tid, tile["type"])))
    for kind in args.expect_type:
        ids = [tid for tid, t in tiles.items() if t["type"] == kind]
        results.append((bool(ids), "a tile of type %r%s" % (kind, " (%s)" % ", ".join(ids) if ids else "")))
    for text in args.expect_text:
        results.append((text in summary["text"], "text %r on the page" % text))
    for tid in args.expect_unknown:
        tile = tiles.get(tid)
        results.append((bool(tile and tile["unknown"]), "tile %r flagged not in grid" % tid))
    if args.min_version is not None:
        v = summary["version"] or 0
        results.append((v >= args.min_version, "state version %d >= %d" % (v, args.min_version)))
    return results


# ---------------------------------------------------------------- engine: DevTools protocol over a pipe

class Browser:
    def __init__(self, chromium, width, height, extra_args=()):
        self.profile = tempfile.mkdtemp(prefix="parley-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():  # Chromium reads commands on fd 3 and writes answers on fd 4
            # Copy both ends out of the way first: the pipes themselves may sit on 3 and 4 (and dup2 onto the same
            # number would keep close-on-exec set).
            read_end, write_end = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        # Sandboxed frames stay in the page's process (and so in its frame tree) for --expect-frame-text.
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
               "--disable-site-isolation-trials", "--disable-features=IsolateSandboxedIframes,site-per-process",
               "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
               "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height)] + list(extra_args) + ["about:blank"]
        self.proc = subprocess.Popen(cmd, preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None
        self.width, self.height = width, height

    def send(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self.read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"].get("message")))
                return reply.get("result", {})

    def read(self, deadline):
        import select
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium exited")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def dom(self):
        return self.evaluate("document.documentElement ? '<!DOCTYPE html>\\n' + document.documentElement.outerHTML : ''") or ""

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.to_chrome, self.from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


# Runs in the page: picks `choice` in the ChoiceSets of the button's card, then clicks the button whose text is `text`.
CLICK_SCRIPT = """(function (text, choice) {
  var buttons = document.querySelectorAll("button");
  for (var i = 0; i < buttons.length; i++) {
    var button = buttons[i];
    if (button.textContent.trim() !== text || button.disabled) continue;
    var root = button.closest(".ac") || document;
    var chosen = [];
    root.querySelectorAll("select[data-ac-input]").forEach(function (select) {
      for (var j = 0; j < select.options.length; j++) {
        if (select.options[j].value !== choice) continue;
        select.value = choice;
        select.dispatchEvent(new Event("change", { bubbles: true }));
        chosen.push(select.getAttribute("data-ac-input"));
        break;
      }
    });
    button.click();
    return { clicked: true, chosen: chosen };
  }
  return { clicked: false, chosen: [] };
})(%s, %s)"""


def click(browser, text, choice):
    """Clicks the button; returns the ids of the inputs set to `choice`, or None when there is no such button (yet)."""
    outcome = browser.evaluate(CLICK_SCRIPT % (json.dumps(text), json.dumps(choice))) or {}
    return outcome.get("chosen", []) if outcome.get("clicked") else None


def run_cdp(chromium, url, args, dom_path, png_path):
    """Loads the page, waits for the expectations, clicks (--click), waits for --expect-after; returns (dom, results)
    where results are the outcomes of the click and of --expect-after (the other checks are made on the dom)."""
    browser = Browser(chromium, args.width, args.height)
    extra = []
    try:
        browser.open(url)
        deadline = time.monotonic() + args.wait
        dom, summary, results = "", None, []
        while True:
            time.sleep(0.25)
            dom = browser.dom()
            summary = summarize(dom)
            results = check(summary, args)
            ready = all(ok for ok, _ in results) and (summary["version"] or 0) >= 1 and (results or args.click)
            if ready or time.monotonic() >= deadline:
                break
        if args.click:
            extra = act(browser, args, ready)
        if args.expect_frame_text:
            extra += frame_checks(browser, args)
        time.sleep(args.settle)  # let frames load and update animations finish before the picture
        dom = browser.dom()
        with open(dom_path, "w", encoding="utf-8") as handle:
            handle.write(dom)
        browser.screenshot(png_path)
        return dom, extra
    finally:
        browser.close()


def frame_checks(browser, args):
    """--expect-frame-text: each html tile's sandboxed frame read through an isolated world (the page itself cannot
    read an opaque-origin frame): its text, the active elements of its body, its title."""
    deadline = time.monotonic() + args.wait
    while True:
        frames = []
        tree = browser.send("Page.getFrameTree")["frameTree"]
        for child in tree.get("childFrames", []):
            try:
                world = browser.send("Page.createIsolatedWorld", {"frameId": child["frame"]["id"], "worldName": "parley-check"})
                value = browser.send("Runtime.evaluate", {
                    "expression": "JSON.stringify({text: document.body ? document.body.innerText : '', "
                                  "active: document.body ? document.body.querySelectorAll('script,img,iframe,object,embed').length : 0, "
                                  "title: document.title})",
                    "contextId": world["executionContextId"], "returnByValue": True})["result"].get("value")
                frames.append(json.loads(value or "{}"))
            except RuntimeError as error:
                frames.append({"text": "", "error": str(error)})
                continue
        results = []
        for wanted in args.expect_frame_text:
            showing = [frame for frame in frames if wanted in frame.get("text", "")]
            results.append((bool(showing), "an html tile shows %r as text (frames: %s)" % (wanted, json.dumps([f.get("text", "")[:80] for f in frames]))))
            results.append((bool(showing) and all(frame.get("active") == 0 for frame in showing),
                            "that tile's body holds no script, img, iframe, object or embed"))
            results.append((all(frame.get("title") != "pwned" for frame in frames), "no frame's title was set by the markup"))
        if all(ok for ok, _ in results) or time.monotonic() >= deadline:
            return results
        time.sleep(0.25)


def act(browser, args, ready):
    """--click and --expect-after: [(ok, description)]."""
    if not ready:
        return [(False, "click %r (skipped: the expectations before it did not hold)" % args.click)] + \
            [(False, "text %r on the page after the click" % text) for text in args.expect_after]
    deadline = time.monotonic() + args.wait
    chosen = click(browser, args.click, args.choice)
    while chosen is None and time.monotonic() < deadline:
        time.sleep(0.25)
        chosen = click(browser, args.click, args.choice)
    if chosen is None:
        return [(False, "a button %r to click" % args.click)] + \
            [(False, "text %r on the page after the click" % text) for text in args.expect_after]
    results = [(True, "clicked %r%s" % (args.click, " after choosing %r in %s" % (args.choice, ", ".join(chosen)) if chosen else ""))]
    text = ""
    while True:
        time.sleep(0.25)
        text = summarize(browser.dom())["text"]
        if all(wanted in text for wanted in args.expect_after) or time.monotonic() >= deadline:
            break
    return results + [(wanted in text, "text %r on the page after the click" % wanted) for wanted in args.expect_after]


# ---------------------------------------------------------------- engine: plain command line flags

def run_cli(chromium, url, args, dom_path, png_path):
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=%d" % args.virtual_time]
    profile = tempfile.mkdtemp(prefix="parley-chromium-")
    try:
        dom = subprocess.run(base + ["--user-data-dir=" + profile, "--dump-dom", url], capture_output=True,
                             timeout=args.wait, text=True).stdout
        with open(dom_path, "w", encoding="utf-8") as handle:
            handle.write(dom)
        subprocess.run(base + ["--user-data-dir=" + profile, "--screenshot=" + png_path,
                               "--window-size=%d,%d" % (args.width, args.height), url],
                       capture_output=True, timeout=args.wait)
        return dom, []
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description="Check Parley's agent workspace page in headless Chromium.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8080", help="server base URL")
    parser.add_argument("--url", help="open this workspace link as it is (overrides --base, --user, --session, --token)")
    parser.add_argument("--user", help="userId")
    parser.add_argument("--session", help="sessionId")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the voice copilot endpoint's URL token")
    parser.add_argument("--out", default="build/browser", help="folder for workspace.html and workspace.png")
    parser.add_argument("--name", default="workspace", help="file name stem (default workspace)")
    parser.add_argument("--expect-tile", action="append", default=[], metavar="ID[=TYPE]")
    parser.add_argument("--expect-type", action="append", default=[], metavar="TYPE")
    parser.add_argument("--expect-text", action="append", default=[], metavar="TEXT")
    parser.add_argument("--expect-unknown", action="append", default=[], metavar="ID")
    parser.add_argument("--expect-frame-text", action="append", default=[], metavar="TEXT",
                        help="cdp engine: an html tile's frame shows TEXT as text, holds no script, img, iframe, object "
                             "or embed in its body, and its title was not set to 'pwned' (markup in a value did not run)")
    parser.add_argument("--min-version", type=int, default=None, metavar="N")
    parser.add_argument("--click", metavar="TEXT", help="then click the button with this text (cdp engine)")
    parser.add_argument("--choice", default="25", metavar="VALUE",
                        help="with --click: the value to pick in the card's Input.ChoiceSet first (default 25)")
    parser.add_argument("--expect-after", action="append", default=[], metavar="TEXT",
                        help="with --click: text that must appear on the page after the click")
    parser.add_argument("--wait", type=float, default=15.0, help="seconds to wait for the expectations (default 15)")
    parser.add_argument("--settle", type=float, default=1.2, help="seconds to wait before the screenshot")
    parser.add_argument("--engine", choices=["cdp", "cli"], default="cdp")
    parser.add_argument("--virtual-time", type=int, default=8000, help="cli engine: --virtual-time-budget in ms")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--chromium", help="the browser binary (default: chromium or chromium-browser on PATH)")
    parser.add_argument("--mock", action="store_true",
                        help="start Tests/browser/mock_server.py on a free port and check the page against it")
    parser.add_argument("--mock-scenario", choices=["live", "static"], default="live")
    args = parser.parse_args(argv)

    chromium = find_chromium(args.chromium)
    if not chromium:
        print("no chromium found (apt-get install -y chromium)", file=sys.stderr)
        return 2

    server = None
    if args.mock:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import mock_server
        server = mock_server.start(0, scenario=args.mock_scenario, interval=0.3)
        args.base = "http://127.0.0.1:%d" % server.server_address[1]
        args.user = args.user or mock_server.USER
        args.session = args.session or mock_server.SESSION
        if not (args.expect_tile or args.expect_type or args.expect_text or args.expect_unknown):
            args.expect_tile = ["transcript=transcript", "identity=identity", "sentiment=sentiment",
                                "next-action=nextAction", "knowledge=knowledge", "offer=adaptiveCard", "crm=iframe",
                                "checklist=html", "alert=html"]
            args.expect_text = ["Ada Lovelace", "Retention offer", "cancel my contract", "KB-1042", "Offer accepted"]
            args.expect_unknown = ["wrapup-notes"]
            args.min_version = 3 if args.mock_scenario == "live" else 1
    if not args.url and (not args.user or not args.session):
        parser.error("--user and --session are required (or --url, or --mock)")
    if args.click and args.engine != "cdp":
        parser.error("--click needs the cdp engine")
    if args.expect_after and not args.click:
        parser.error("--expect-after needs --click")

    os.makedirs(args.out, exist_ok=True)
    dom_path = os.path.join(args.out, args.name + ".html")
    png_path = os.path.join(args.out, args.name + ".png")
    url = args.url or workspace_url(args.base, args.user, args.session, args.token)
    print("open", url)
    try:
        run = run_cdp if args.engine == "cdp" else run_cli
        dom, acted = run(chromium, url, args, dom_path, png_path)
    except subprocess.TimeoutExpired:
        print("chromium did not finish within %.0f s (cli engine: an open event stream stops virtual time; use --engine cdp)"
              % args.wait, file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError, OSError) as error:
        print("chromium failed: %s" % error, file=sys.stderr)
        return 2
    finally:
        if server:
            server.shutdown()

    summary = summarize(dom)
    print("dom        %s (%d bytes)" % (dom_path, len(dom)))
    print("screenshot %s%s" % (png_path, "" if os.path.exists(png_path) else " (missing)"))
    print("state version %s, connection %s" % (summary["version"], summary["connection"]))
    for tid, tile in sorted(summary["tiles"].items()):
        text = tile["text"]
        print("  tile %-14s %-13s%s %s" % (tid, tile["type"], " [not in grid]" if tile["unknown"] else "",
                                            (text[:90] + "…") if len(text) > 90 else text))
    results = check(summary, args) + acted
    for ok, what in results:
        print("%s %s" % ("ok  " if ok else "FAIL", what))
    failed = [what for ok, what in results if not ok]
    if summary["version"] is None or summary["version"] < 1:
        failed.append("the page rendered at least once")
        print("FAIL the page rendered at least once (data-state-version is %s)" % summary["version"])
    print("%d expectation(s), %d failed" % (len(results), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
