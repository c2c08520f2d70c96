/* Parley agent workspace (DESIGN §5.5, docs/voice.md).
 *
 * Reads userId, sessionId, URLToken and the optional access (a signed link of `parley copilot link`) from the page's
 * query string, loads GET /copilot/state, then follows GET /copilot/events (Server-Sent Events, `event: state`
 * carrying the full workspace state). Adaptive Card submits are POSTed to /copilot/action. Every request carries the
 * same query, access included. Every render bumps <body data-state-version>; every tile element carries
 * data-tile="<id>" and data-type="<type>".
 *
 * All text is put in the DOM with textContent; the only markup taken from the server is the html tile's, and it
 * lives in an <iframe sandbox="allow-scripts" srcdoc> (an opaque origin) that gets the tile's data by postMessage.
 */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var userId = params.get("userId") || "";
  var sessionId = params.get("sessionId") || "";
  var urlToken = params.get("URLToken") || "";
  // On endpoints with `auth: apiKey` the link carries `access=<expiry>.<signature>`; every request passes it on.
  var access = params.get("access") || "";
  // "/copilot/" → "/copilot"; also works behind a path prefix ("/parley/copilot/").
  var base = location.pathname.replace(/\/(index\.html)?$/, "") || "/copilot";
  var query = "?userId=" + encodeURIComponent(userId) + "&sessionId=" + encodeURIComponent(sessionId) +
    "&URLToken=" + encodeURIComponent(urlToken) + (access ? "&access=" + encodeURIComponent(access) : "");

  var gridEl = document.getElementById("grid");
  var othersEl = document.getElementById("others");
  var othersTitle = document.getElementById("others-title");
  var connEl = document.getElementById("conn");
  var bannerEl = document.getElementById("banner");
  var updatedEl = document.getElementById("updated");
  var othersLink = document.getElementById("others-link");

  var SVG = "http://www.w3.org/2000/svg";
  var version = 0;
  var records = new Map(); // tile id → {el, head, body, type, sig, kind, ...}
  var lastState = null;
  var denied = false; // the server refused the link (401): an expired link stays expired, so stop asking

  // ---------------------------------------------------------------- helpers

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        var value = attrs[key];
        if (value === undefined || value === null || value === false) continue;
        if (key === "class") el.className = value;
        else if (key === "text") el.textContent = String(value);
        else el.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }

  function s(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    for (var key in attrs || {}) el.setAttribute(key, String(attrs[key]));
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) el.appendChild(arguments[i]);
    return el;
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  // The origin of the agent desktop embedding this page, when the server allows it (server.frameAncestors, given in
  // the page's <meta name="parley-frame-ancestors">): the frame's parent as the browser reports it, or the one
  // configured origin; null when there is none to trust.
  function embedderOrigin() {
    var meta = document.querySelector('meta[name="parley-frame-ancestors"]');
    var allowed = ((meta && meta.getAttribute("content")) || "").split(/\s+/).filter(Boolean);
    if (!allowed.length) return null;
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length) return allowed.indexOf(ancestors[0]) >= 0 ? ancestors[0] : null;
    return allowed.length === 1 ? allowed[0] : null;
  }

  function str(v) {
    if (v === undefined || v === null) return "";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function humanize(id) {
    var text = String(id).replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[-_]+/g, " ").trim();
    if (text.length <= 3) return text.toUpperCase();
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function clock(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) return "";
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function truthy(v) { return v === true || v === "true"; }

  /** http(s) URLs only (no javascript:, data: and the like), resolved against the page. */
  function safeURL(raw) {
    if (typeof raw !== "string" || !raw) return null;
    try {
      var url = new URL(raw, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch (e) { return null; }
  }

  function link(raw, label) {
    var url = safeURL(raw);
    if (!url) return h("span", { text: label || str(raw) });
    return h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer", text: label || url.href });
  }

  function facts(object, skip) {
    var dl = h("dl", { class: "facts" });
    var n = 0;
    Object.keys(object || {}).forEach(function (key) {
      if (skip && skip.indexOf(key) >= 0) return;
      var v = object[key];
      if (v === null || v === undefined || v === "" || isObject(v) || Array.isArray(v)) return;
      dl.appendChild(h("dt", { text: humanize(key) }));
      dl.appendChild(h("dd", { text: str(v) }));
      n++;
    });
    return n ? dl : null;
  }

  // ---------------------------------------------------------------- connection status

  function setConn(status, text) {
    connEl.setAttribute("data-status", status);
    connEl.textContent = text || {
      live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline", error: "Error",
    }[status] || status;
  }

  function banner(text) {
    if (text) { bannerEl.textContent = text; bannerEl.hidden = false; }
    else bannerEl.hidden = true;
  }

  // ---------------------------------------------------------------- layout

  var typeOrder = ["nextAction", "transcript", "identity", "sentiment", "knowledge", "adaptiveCard", "html", "iframe"];

  function slotsFor(state) {
    var grid = isObject(state.grid) ? state.grid : null;
    var placed = grid && isObject(grid.tiles) ? grid.tiles : null;
    var tiles = isObject(state.tiles) ? state.tiles : {};
    var slots = [];
    var hasTranscript = false;
    if (placed) {
      Object.keys(placed).forEach(function (id) {
        var tile = isObject(tiles[id]) ? tiles[id] : (id === "transcript" ? { type: "transcript" } : null);
        if (tile && tile.type === "transcript") hasTranscript = true;
        slots.push({ id: id, tile: tile, where: "grid", pos: placed[id] || {} });
      });
    }
    Object.keys(tiles).forEach(function (id) {
      if (placed && Object.prototype.hasOwnProperty.call(placed, id)) return;
      var tile = isObject(tiles[id]) ? tiles[id] : { type: "unknown" };
      if (tile.type === "transcript") hasTranscript = true;
      slots.push({ id: id, tile: tile, where: placed ? "other" : "auto", unknown: !!(placed || tile.unknown) });
    });
    var heard = (Array.isArray(state.transcript) && state.transcript.length) ||
      (isObject(state.interim) && Object.keys(state.interim).length);
    // No tile shows the transcript: add one (in the auto layout, or among the other tiles when a grid lacks it).
    if (!hasTranscript && (heard || !placed) && !slots.some(function (slot) { return slot.id === "transcript"; })) {
      slots.push({ id: "transcript", tile: { type: "transcript" }, where: placed ? "other" : "auto" });
    }
    if (!placed) {
      slots.sort(function (a, b) {
        var ta = typeOrder.indexOf(a.tile.type), tb = typeOrder.indexOf(b.tile.type);
        ta = ta < 0 ? 99 : ta; tb = tb < 0 ? 99 : tb;
        return ta - tb || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      });
    }
    return { slots: slots, grid: grid };
  }

  function layoutGrid(grid) {
    var g = grid && isObject(grid.grid) ? grid.grid : null;
    if (grid) {
      var cols = Math.max(1, Math.min(24, parseInt(g && g.columns, 10) || 3));
      var rows = Math.max(1, Math.min(48, parseInt(g && g.rows, 10) || 4));
      var gap = Math.max(0, Math.min(64, parseInt(g && g.gap, 10) || 8));
      gridEl.classList.remove("auto");
      gridEl.style.setProperty("--cols", cols);
      gridEl.style.setProperty("--rows", rows);
      gridEl.style.setProperty("--gap", gap + "px");
    } else {
      gridEl.classList.add("auto");
      gridEl.style.removeProperty("--cols");
      gridEl.style.removeProperty("--rows");
      gridEl.style.setProperty("--gap", "8px");
    }
  }

  function num(v, fallback) {
    var n = parseInt(v, 10);
    return isFinite(n) && n > 0 ? n : fallback;
  }

  // ---------------------------------------------------------------- render

  function render(state) {
    if (!isObject(state)) return;
    lastState = state;
    var plan = slotsFor(state);
    layoutGrid(plan.grid);

    var seen = new Set();
    var others = 0;
    plan.slots.forEach(function (slot, index) {
      seen.add(slot.id);
      var type = slot.tile ? String(slot.tile.type || "unknown") : "pending";
      var rec = records.get(slot.id);
      if (!rec) {
        rec = makeRecord(slot.id);
        records.set(slot.id, rec);
      }
      var container = slot.where === "other" ? othersEl : gridEl;
      if (rec.el.parentNode !== container) container.appendChild(rec.el);
      if (slot.where === "other") others++;
      if (slot.where === "grid") {
        var p = slot.pos;
        rec.el.style.gridColumn = num(p.x, 1) + " / span " + num(p.columns, 1);
        rec.el.style.gridRow = num(p.y, 1) + " / span " + num(p.rows, 1);
        rec.el.style.order = "";
      } else {
        rec.el.style.gridColumn = "";
        rec.el.style.gridRow = "";
        rec.el.style.order = String(index); // order without moving nodes: moving an iframe reloads it
      }
      updateRecord(rec, slot, type, state);
    });
    records.forEach(function (rec, id) {
      if (!seen.has(id)) { rec.el.remove(); records.delete(id); }
    });
    othersEl.hidden = others === 0;
    othersTitle.hidden = others === 0;
    othersLink.hidden = others === 0;
    othersLink.textContent = others === 1 ? "1 tile not in grid ↓" : others + " tiles outside the grid ↓";

    version++;
    document.body.setAttribute("data-state-version", String(version));
    updatedEl.textContent = "Updated " + clock();
  }

  function makeRecord(id) {
    var title = h("span", { class: "tile-title", text: humanize(id) });
    var badge = h("span", { class: "tile-type" });
    var flag = h("span", { class: "flag", title: "This tile id is not placed by the grid (setGrid)", text: "not in grid" });
    var time = h("span", { class: "tile-time" });
    var head = h("div", { class: "tile-head" }, title, badge, time);
    var body = h("div", { class: "tile-body" });
    var el = h("article", { class: "tile", "data-tile": id }, head, body);
    return { id: id, el: el, head: head, badge: badge, flag: flag, time: time, body: body, type: null, sig: null, kind: null };
  }

  function updateRecord(rec, slot, type, state) {
    var tile = slot.tile || {};
    var unknown = !!slot.unknown;
    rec.el.setAttribute("data-type", type);
    rec.el.classList.toggle("unknown", unknown);
    if (unknown) rec.el.setAttribute("data-unknown", "true"); else rec.el.removeAttribute("data-unknown");
    if (unknown && !rec.flag.parentNode) rec.head.insertBefore(rec.flag, rec.time);
    if (!unknown && rec.flag.parentNode) rec.flag.remove();
    rec.badge.textContent = type === "pending" ? "waiting" : type;
    rec.time.textContent = tile.updatedAt ? clock(tile.updatedAt) : "";
    if (tile.updatedAt) rec.time.title = tile.updatedAt;

    var sig = JSON.stringify([type, tile, type === "transcript" ? [state.transcript, state.interim] : null]);
    if (sig === rec.sig) return;
    var first = rec.sig === null;
    rec.sig = sig;
    if (rec.type !== type) {
      // A new type: start from an empty body (drops a persistent iframe too).
      clear(rec.body);
      rec.body.className = "tile-body";
      rec.kind = null;
      rec.frame = null;
      rec.type = type;
    }
    try {
      (renderers[type] || renderGeneric)(rec, tile, state);
    } catch (err) {
      clear(rec.body);
      rec.kind = null;
      rec.body.appendChild(h("div", { class: "placeholder", text: "Could not show this tile: " + err.message }));
      if (window.console) console.error(err);
    }
    if (!first && type !== "pending") {
      rec.el.classList.remove("flash");
      void rec.el.offsetWidth; // restart the animation
      rec.el.classList.add("flash");
    }
  }

  // ---------------------------------------------------------------- tile renderers

  var renderers = {
    pending: function (rec) {
      clear(rec.body);
      rec.body.appendChild(h("div", { class: "placeholder", text: "Waiting for the first update…" }));
    },

    nextAction: function (rec, tile) {
      var data = isObject(tile.data) ? tile.data : {};
      var escalate = truthy(data.escalate);
      var chips = h("div", { class: "chips" });
      if (escalate) chips.appendChild(h("span", { class: "chip bad", text: "Escalate" }));
      Object.keys(data).forEach(function (key) {
        var v = data[key];
        if (key === "escalate" || v === null || v === "" || v === false || v === "false" || typeof v === "object") return;
        chips.appendChild(h("span", { class: "chip", text: humanize(key) + ": " + str(v) }));
      });
      clear(rec.body);
      rec.body.appendChild(h("div", { class: "next-action" + (escalate ? " escalate" : "") },
        h("div", { class: "arrow", "aria-hidden": "true", text: "→" }),
        h("div", null,
          h("div", { class: "suggestion", text: tile.text || str(data.text) || "—" }),
          chips.childNodes.length ? chips : null)));
    },

    sentiment: function (rec, tile) {
      var data = isObject(tile.data) ? tile.data : {};
      var label = String(tile.text || data.label || "").trim();
      var score = Number(data.score);
      if (!isFinite(score) || data.score === null || data.score === "") {
        score = /neg/i.test(label) ? -2 : /pos/i.test(label) ? 2 : 0;
      }
      score = Math.max(-5, Math.min(5, score));
      if (!label) label = score > 0 ? "positive" : score < 0 ? "negative" : "neutral";
      var mood = /neg/i.test(label) ? "negative" : /pos/i.test(label) ? "positive" : score < 0 ? "negative" : score > 0 ? "positive" : "neutral";

      rec.history = rec.history || [];
      if (tile.updatedAt !== rec.lastSentimentAt) {
        rec.history.push(score);
        if (rec.history.length > 30) rec.history.shift();
        rec.lastSentimentAt = tile.updatedAt;
      }

      var pct = ((score + 5) / 10) * 100;
      var marker = h("div", { class: "marker" });
      marker.style.left = pct + "%";
      var details = "Score " + (score > 0 ? "+" : score < 0 ? "−" : "") + Math.abs(score) + " of ±5";
      if (data.turns !== undefined) details += " · " + str(data.turns) + " customer turn" + (Number(data.turns) === 1 ? "" : "s");

      clear(rec.body);
      rec.body.appendChild(h("div", { class: "sentiment " + mood, "data-score": score, "data-mood": mood },
        h("div", { class: "sentiment-top" },
          h("div", { class: "sentiment-face", "aria-hidden": "true" }, face(score)),
          h("div", null,
            h("div", { class: "sentiment-label", text: label }),
            h("div", { class: "sentiment-score", text: details }))),
        h("div", { class: "gauge", role: "meter", "aria-valuemin": -5, "aria-valuemax": 5, "aria-valuenow": score,
          "aria-label": "Sentiment" }, h("div", { class: "mid" }), marker),
        h("div", { class: "gauge-scale" }, h("span", { text: "−5" }), h("span", { text: "0" }), h("span", { text: "+5" })),
        rec.history.length > 1 ? sparkline(rec.history) : null));
    },

    transcript: function (rec, tile, state) {
      var body = rec.body;
      var atBottom = rec.kind !== "transcript" || body.scrollHeight - body.scrollTop - body.clientHeight < 40;
      rec.kind = "transcript";
      var list = h("div", { class: "transcript" });
      var lines = Array.isArray(state.transcript) ? state.transcript : [];
      lines.forEach(function (line) {
        if (!isObject(line)) return;
        var who = line.speaker === "agent" ? "agent" : "customer";
        list.appendChild(h("div", { class: "utt " + who, "data-speaker": who },
          h("span", { class: "who", text: who === "agent" ? "Agent" : "Customer" }),
          h("span", { class: "text", text: str(line.text) })));
      });
      var interim = isObject(state.interim) ? state.interim : {};
      ["customer", "agent"].forEach(function (who) {
        if (!interim[who]) return;
        list.appendChild(h("div", { class: "utt interim " + who, "data-speaker": who, "data-interim": "true" },
          h("span", { class: "who", text: (who === "agent" ? "Agent" : "Customer") + " (speaking)" }),
          h("span", { class: "text", text: str(interim[who]) })));
      });
      if (!list.childNodes.length) list.appendChild(h("div", { class: "placeholder", text: "Nothing said yet." }));
      clear(body);
      body.appendChild(list);
      if (atBottom) body.scrollTop = body.scrollHeight;
    },

    identity: function (rec, tile) {
      var data = isObject(tile.data) ? tile.data : {};
      var missing = data.found === false || data.found === "false";
      var name = missing ? "Unknown caller" : str(data.name) || tile.text || "Caller";
      var initials = missing ? "?" : name.split(/\s+/).filter(Boolean).slice(0, 2).map(function (w) { return w.charAt(0); }).join("").toUpperCase();
      var summary = tile.text && tile.text !== name ? tile.text : "";
      clear(rec.body);
      rec.body.appendChild(h("div", { class: "identity" + (missing ? " missing" : "") },
        h("div", { class: "avatar", "aria-hidden": "true", text: initials || "?" }),
        h("div", { style: "min-width:0;flex:1" },
          h("div", { class: "name", text: name }),
          summary ? h("div", { class: "summary", text: summary }) : null,
          facts(data, ["name", "found"]))));
    },

    knowledge: function (rec, tile) {
      var data = isObject(tile.data) ? tile.data : {};
      var title = str(data.title) || (data.articleId ? "Article " + str(data.articleId) : "Knowledge");
      var text = tile.text || str(data.text || data.summary);
      var links = [];
      var addLink = function (url, label) {
        if (url && !links.some(function (l) { return l.url === url; })) links.push({ url: url, label: label });
      };
      if (Array.isArray(data.links)) {
        data.links.forEach(function (l) {
          if (typeof l === "string") addLink(l);
          else if (isObject(l)) addLink(l.url || l.href, l.title || l.label || l.text);
        });
      }
      addLink(data.url, data.title);
      addLink(tile.url, data.title || (data.articleId ? "Open " + str(data.articleId) : null));
      var chips = h("div", { class: "chips" });
      if (data.topic) chips.appendChild(h("span", { class: "chip", text: "Topic: " + str(data.topic) }));
      clear(rec.body);
      rec.body.appendChild(h("div", { class: "knowledge" },
        h("div", { class: "kb-title", text: title }),
        text ? h("p", { class: "kb-text", text: text }) : null,
        links.length ? h("div", { class: "links" }, links.map(function (l) { return link(l.url, l.label ? l.label + " ↗" : null); })) : null,
        chips.childNodes.length ? chips : null));
    },

    html: function (rec, tile) {
      if (rec.kind !== "html") {
        clear(rec.body);
        rec.body.className = "tile-body frame";
        var frame = h("iframe", { sandbox: "allow-scripts", title: humanize(rec.id), referrerpolicy: "no-referrer" });
        frame.addEventListener("load", function () { rec.loaded = true; postData(rec); });
        rec.body.appendChild(frame);
        rec.frame = frame;
        rec.kind = "html";
        rec.html = null;
        rec.dataSig = null;
      }
      rec.data = tile.data;
      var html = typeof tile.html === "string" ? tile.html : "";
      if (html !== rec.html) {
        rec.html = html;
        rec.loaded = false;
        rec.frame.srcdoc = srcdoc(html);
      }
      var dataSig = JSON.stringify(tile.data === undefined ? null : tile.data);
      if (dataSig !== rec.dataSig) {
        rec.dataSig = dataSig;
        if (rec.loaded) postData(rec);
      }
    },

    iframe: function (rec, tile) {
      var url = safeURL(tile.url);
      if (!url) {
        clear(rec.body);
        rec.kind = null;
        rec.body.className = "tile-body";
        rec.body.appendChild(h("div", { class: "placeholder", text: tile.url ? "Not an http(s) URL: " + tile.url : "No URL yet." }));
        return;
      }
      if (rec.kind !== "iframe" || rec.url !== url.href) {
        clear(rec.body);
        rec.body.className = "tile-body frame";
        // A cross-origin page may keep its own origin (its cookies, its login); a same-origin one may not, or it
        // could reach into this page.
        var sameOrigin = url.origin === location.origin;
        var frame = h("iframe", {
          sandbox: "allow-scripts allow-forms allow-popups" + (sameOrigin ? "" : " allow-same-origin"),
          title: humanize(rec.id), referrerpolicy: "no-referrer",
        });
        frame.addEventListener("load", function () { rec.loaded = true; postData(rec); });
        frame.src = url.href;
        rec.body.appendChild(h("div", { class: "frame-bar" },
          h("span", { class: "url", title: url.href, text: url.host + url.pathname }),
          link(url.href, "Open ↗")));
        rec.body.appendChild(frame);
        rec.frame = frame;
        rec.kind = "iframe";
        rec.url = url.href;
        rec.origin = url.origin;
        rec.loaded = false;
        rec.dataSig = null;
      }
      rec.data = tile.data;
      var dataSig = JSON.stringify(tile.data === undefined ? null : tile.data);
      if (dataSig !== rec.dataSig) {
        rec.dataSig = dataSig;
        if (rec.loaded) postData(rec);
      }
    },

    adaptiveCard: function (rec, tile) {
      clear(rec.body);
      rec.kind = "adaptiveCard";
      var card = isObject(tile.card) ? tile.card : isObject(tile.data) && tile.data.type === "AdaptiveCard" ? tile.data : null;
      if (!card) {
        rec.body.appendChild(h("div", { class: "placeholder", text: "No card." }));
        return;
      }
      rec.body.appendChild(renderCard(card, rec.id));
    },
  };

  function renderGeneric(rec, tile) {
    clear(rec.body);
    rec.kind = null;
    rec.body.className = "tile-body";
    if (tile.text) rec.body.appendChild(h("div", { class: "plain-text", text: tile.text }));
    if (tile.url) rec.body.appendChild(h("div", { class: "links" }, link(tile.url)));
    if (tile.data !== undefined) {
      rec.body.appendChild(isObject(tile.data) && facts(tile.data) ||
        h("pre", { class: "json", text: JSON.stringify(tile.data, null, 2) }));
    }
    if (!rec.body.childNodes.length) rec.body.appendChild(h("div", { class: "placeholder", text: "(empty)" }));
  }

  function face(score) {
    var mouth = score > 0 ? "M8 15 Q12 19 16 15" : score < 0 ? "M8 17 Q12 13 16 17" : "M8 16 L16 16";
    return s("svg", { viewBox: "0 0 24 24", width: 26, height: 26, fill: "none", stroke: "#fff", "stroke-width": 2, "stroke-linecap": "round" },
      s("circle", { cx: 9, cy: 9.5, r: 0.6, fill: "#fff" }),
      s("circle", { cx: 15, cy: 9.5, r: 0.6, fill: "#fff" }),
      s("path", { d: mouth }));
  }

  function sparkline(values) {
    var w = 200, ht = 26, n = values.length;
    var pts = values.map(function (v, i) {
      return (i * w / (n - 1)).toFixed(1) + "," + (ht / 2 - (v / 5) * (ht / 2 - 2)).toFixed(1);
    }).join(" ");
    return s("svg", { class: "spark", viewBox: "0 0 " + w + " " + ht, preserveAspectRatio: "none", "aria-label": "Sentiment trend" },
      s("line", { x1: 0, y1: ht / 2, x2: w, y2: ht / 2, stroke: "#d0d5dd", "stroke-dasharray": "3 3" }),
      s("polyline", { points: pts, fill: "none", stroke: "#475467", "stroke-width": 1.6, "vector-effect": "non-scaling-stroke" }));
  }

  // ---------------------------------------------------------------- html tile: sandboxed srcdoc + postMessage

  var FRAME_STYLE = [
    "html,body{margin:0}",
    "body{font:13.5px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,'DejaVu Sans',sans-serif;color:#1d2433;padding:10px 12px}",
    "ul.checklist{list-style:none;margin:0;padding:0;display:grid;gap:6px}",
    ".checklist li{display:flex;align-items:center;gap:8px;color:#475467}",
    ".checklist li::before{content:'';flex:none;width:14px;height:14px;border:2px solid #c5ccd8;border-radius:4px;background:#fff}",
    ".checklist li.done{color:#1d2433}",
    ".checklist li.done::before{background:#16a34a;border-color:#16a34a;box-shadow:inset 0 0 0 2px #fff}",
    ".alert{background:#fdecec;border:1px solid #f5c2c2;color:#8a1c1c;border-radius:8px;padding:8px 12px}",
    "code{font-family:ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;background:rgba(0,0,0,.06);padding:0 4px;border-radius:4px}",
  ].join("\n");

  // Runs inside the sandbox. Elements with data-item="k" get class "done" when data.k is truthy; elements with
  // data-bind="k" show data.k; window.onParleyData(data) and the "parley:data" event let tile html do the rest.
  var FRAME_SCRIPT = [
    "(function(){",
    "function apply(d){window.parleyData=d;",
    " if(d&&typeof d==='object'){",
    "  document.querySelectorAll('[data-item]').forEach(function(el){var on=!!d[el.getAttribute('data-item')];el.classList.toggle('done',on);el.setAttribute('aria-checked',on?'true':'false');});",
    "  document.querySelectorAll('[data-bind]').forEach(function(el){var k=el.getAttribute('data-bind');if(k in d){var v=d[k];el.textContent=v==null?'':typeof v==='object'?JSON.stringify(v):String(v);}});",
    " }",
    " if(typeof window.onParleyData==='function'){try{window.onParleyData(d);}catch(e){console.error(e);}}",
    " document.dispatchEvent(new CustomEvent('parley:data',{detail:d}));}",
    "window.addEventListener('message',function(e){if(e.source!==window.parent)return;var m=e.data;",
    " if(!m||m.type!=='parley:data')return;",
    " if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',function(){apply(m.data);});else apply(m.data);});",
    "})();",
  ].join("\n");

  function srcdoc(html) {
    return "<!doctype html><html><head><meta charset=\"utf-8\"><style>" + FRAME_STYLE + "</style><script>" +
      FRAME_SCRIPT + "<\/script></head><body>" + html + "</body></html>";
  }

  function postData(rec) {
    if (!rec.frame || !rec.frame.contentWindow) return;
    var message = { type: "parley:data", tile: rec.id, data: rec.data === undefined ? null : rec.data };
    try {
      // The html tile's srcdoc has an opaque origin, so "*" is the only target that reaches it; an iframe tile
      // gets its data only when it still shows the page of its URL's origin.
      rec.frame.contentWindow.postMessage(message, rec.kind === "iframe" ? rec.origin : "*");
    } catch (e) { /* a navigated-away iframe: nothing to do */ }
  }

  // ---------------------------------------------------------------- Adaptive Cards (common elements)

  function renderCard(card, tileId) {
    var root = h("div", { class: "ac" });
    root.appendChild(items(card.body, root, 0, tileId));
    var actions = actionSet(card.actions, root, tileId, 0);
    if (actions) root.appendChild(actions);
    if (!root.textContent.trim() && card.fallbackText) root.appendChild(h("p", { class: "ac-text", text: card.fallbackText }));
    return root;
  }

  function items(list, root, depth, tileId) {
    var frag = document.createDocumentFragment();
    if (!Array.isArray(list) || depth > 12) return frag;
    list.forEach(function (item) {
      if (!isObject(item) || item.isVisible === false) return;
      var el = element(item, root, depth, tileId);
      if (el) frag.appendChild(el);
    });
    return frag;
  }

  function lower(v) { return String(v || "").toLowerCase(); }

  function textClasses(item) {
    var cls = ["ac-text"];
    var weight = lower(item.weight), size = lower(item.size), color = lower(item.color), align = lower(item.horizontalAlignment);
    if (weight === "bolder" || weight === "lighter") cls.push("ac-w-" + weight);
    if (["small", "medium", "large", "extralarge"].indexOf(size) >= 0) cls.push("ac-s-" + size);
    if (["attention", "good", "warning", "accent", "light"].indexOf(color) >= 0) cls.push("ac-c-" + color);
    if (align === "center" || align === "right") cls.push("ac-a-" + align);
    if (item.isSubtle) cls.push("ac-subtle");
    if (item.wrap === false) cls.push("nowrap");
    return cls.join(" ");
  }

  function element(item, root, depth, tileId) {
    switch (item.type) {
      case "TextBlock":
        return h("p", { class: textClasses(item), text: str(item.text) });
      case "RichTextBlock": {
        var p = h("p", { class: textClasses(item) });
        (Array.isArray(item.inlines) ? item.inlines : []).forEach(function (run) {
          if (typeof run === "string") { p.appendChild(document.createTextNode(run)); return; }
          if (!isObject(run)) return;
          var span = h("span", { class: textClasses(run), text: str(run.text) });
          if (run.italic) span.style.fontStyle = "italic";
          if (run.strikethrough) span.style.textDecoration = "line-through";
          p.appendChild(span);
        });
        return p;
      }
      case "FactSet": {
        var dl = h("dl", { class: "facts ac-factset" });
        (Array.isArray(item.facts) ? item.facts : []).forEach(function (f) {
          if (!isObject(f)) return;
          dl.appendChild(h("dt", { text: str(f.title) }));
          dl.appendChild(h("dd", { text: str(f.value) }));
        });
        return dl;
      }
      case "Image":
        return image(item);
      case "ImageSet": {
        var set = h("div", { class: "ac-actions" });
        (Array.isArray(item.images) ? item.images : []).forEach(function (img) { if (isObject(img)) set.appendChild(image(img)); });
        return set;
      }
      case "ColumnSet": {
        var row = h("div", { class: "ac-columns" });
        (Array.isArray(item.columns) ? item.columns : []).forEach(function (col) {
          if (!isObject(col)) return;
          var c = h("div", { class: "ac-column" });
          var w = col.width;
          if (w === "auto") c.style.flex = "0 0 auto";
          else if (typeof w === "number" || /^\d+(\.\d+)?$/.test(String(w || ""))) c.style.flex = Number(w) + " 1 0";
          else if (/^\d+px$/.test(String(w || ""))) c.style.flex = "0 0 " + w;
          else c.style.flex = "1 1 0";
          if (lower(col.verticalContentAlignment) === "center") c.style.justifyContent = "center";
          c.appendChild(items(col.items, root, depth + 1, tileId));
          row.appendChild(c);
        });
        return row;
      }
      case "Column":
        return h("div", { class: "ac-column" }, items(item.items, root, depth + 1, tileId));
      case "Container": {
        var style = lower(item.style);
        var box = h("div", { class: "ac-container" + (style && style !== "default" ? " styled st-" + style : "") });
        box.appendChild(items(item.items, root, depth + 1, tileId));
        return box;
      }
      case "ActionSet":
        return actionSet(item.actions, root, tileId, depth);
      case "Input.Text":
      case "Input.Number":
      case "Input.Date":
      case "Input.Time": {
        var kind = { "Input.Number": "number", "Input.Date": "date", "Input.Time": "time" }[item.type] || "text";
        var input = item.isMultiline
          ? h("textarea", { class: "ac-input", rows: 3, placeholder: item.placeholder, "data-ac-input": item.id })
          : h("input", { class: "ac-input", type: kind, placeholder: item.placeholder, "data-ac-input": item.id });
        if (item.value !== undefined) input.value = str(item.value);
        return h("label", null, item.label ? h("span", { class: "ac-label", text: item.label }) : null, input);
      }
      case "Input.Toggle": {
        var box2 = h("input", { type: "checkbox", "data-ac-input": item.id, "data-on": str(item.valueOn || "true"), "data-off": str(item.valueOff || "false") });
        box2.checked = item.value !== undefined && str(item.value) === str(item.valueOn || "true");
        return h("label", null, box2, " ", str(item.title || item.label));
      }
      case "Input.ChoiceSet": {
        var select = h("select", { class: "ac-input", "data-ac-input": item.id });
        (Array.isArray(item.choices) ? item.choices : []).forEach(function (choice) {
          if (!isObject(choice)) return;
          var opt = h("option", { value: str(choice.value), text: str(choice.title) });
          if (item.value !== undefined && str(item.value) === str(choice.value)) opt.selected = true;
          select.appendChild(opt);
        });
        return h("label", null, item.label ? h("span", { class: "ac-label", text: item.label }) : null, select);
      }
      default:
        return h("div", { class: "ac-unsupported", text: "[" + str(item.type || "element") + "]" + (item.fallbackText ? " " + item.fallbackText : "") });
    }
  }

  function image(item) {
    var alt = str(item.altText) || "image";
    var raw = str(item.url);
    var ok = false, src = null;
    if (/^data:image\/(png|jpe?g|gif|webp);/i.test(raw)) { ok = true; src = raw; }
    else {
      try {
        var url = new URL(raw, location.href);
        ok = url.origin === location.origin && (url.protocol === "http:" || url.protocol === "https:");
        src = url.href;
      } catch (e) { ok = false; }
    }
    if (!ok) return h("span", { class: "ac-img-alt", title: raw, text: "Image: " + alt });
    var size = lower(item.size);
    var cls = "ac-image" + (size === "small" ? " sm" : size === "medium" ? " md" : size === "large" ? " lg" : "") +
      (lower(item.style) === "person" ? " person" : "");
    return h("img", { class: cls, src: src, alt: alt });
  }

  function actionSet(actions, root, tileId, depth) {
    if (!Array.isArray(actions) || !actions.length) return null;
    var bar = h("div", { class: "ac-actions" });
    var extra = h("div");
    actions.forEach(function (action) {
      if (!isObject(action)) return;
      var title = str(action.title) || humanize(String(action.type || "action").replace(/^Action\./, ""));
      var style = lower(action.style);
      var cls = "ac-btn" + (style === "positive" || style === "destructive" ? " " + style : "");
      if (action.type === "Action.OpenUrl") {
        var url = safeURL(action.url);
        bar.appendChild(url
          ? h("a", { class: cls, href: url.href, target: "_blank", rel: "noopener noreferrer", text: title + " ↗" })
          : h("button", { class: cls, type: "button", disabled: true, text: title }));
      } else if (action.type === "Action.ShowCard" && isObject(action.card)) {
        var shown = h("div", { class: "ac-showcard", hidden: true }, renderCard(action.card, tileId));
        var toggle = h("button", { class: cls, type: "button", "aria-expanded": "false", text: title });
        toggle.addEventListener("click", function () {
          shown.hidden = !shown.hidden;
          toggle.setAttribute("aria-expanded", shown.hidden ? "false" : "true");
        });
        bar.appendChild(toggle);
        extra.appendChild(shown);
      } else {
        // Action.Submit / Action.Execute: the page tells whoever embeds it (the agent desktop) and its own scripts,
        // and posts the action to Parley, which runs the endpoint's flow with it.
        var button = h("button", { class: cls, type: "button", "data-action": str(action.type), text: title });
        button.addEventListener("click", function () { submit(action, root, tileId, button); });
        bar.appendChild(button);
      }
    });
    if (!extra.childNodes.length) return bar;
    return h("div", null, bar, extra);
  }

  function submit(action, root, tileId, button) {
    var inputs = {};
    root.querySelectorAll("[data-ac-input]").forEach(function (el) {
      var id = el.getAttribute("data-ac-input");
      if (!id) return;
      inputs[id] = el.type === "checkbox" ? (el.checked ? el.getAttribute("data-on") : el.getAttribute("data-off")) : el.value;
    });
    var detail = {
      type: "parley:action", tile: tileId, userId: userId, sessionId: sessionId,
      action: { type: action.type, title: action.title, verb: action.verb, data: action.data === undefined ? null : action.data },
      inputs: inputs,
    };
    window.dispatchEvent(new CustomEvent("parley:action", { detail: detail }));
    // Only to an agent desktop the server names (server.frameAncestors), never to "*": the detail carries the
    // session and what the agent chose.
    var embedder = embedderOrigin();
    if (embedder && window.parent && window.parent !== window) window.parent.postMessage(detail, embedder);

    // The flow gets {tile, ...action.data, ...inputs} as input.data (inputs win over the action's data).
    var merged = {};
    if (isObject(action.data)) Object.keys(action.data).forEach(function (key) { merged[key] = action.data[key]; });
    Object.keys(inputs).forEach(function (key) { merged[key] = inputs[key]; });
    var note = root.querySelector(".ac-note") || h("div", { class: "ac-note" });
    note.style.color = "";
    note.textContent = "Sending…";
    if (!note.parentNode) root.appendChild(note);
    button.disabled = true;
    fetch(base + "/action" + query, {
      method: "POST", cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ tile: tileId, data: merged }),
    })
      .then(function (response) {
        if (!response.ok) throw { message: "HTTP " + response.status };
        root.querySelectorAll(".ac-btn.done").forEach(function (b) { b.classList.remove("done"); });
        button.classList.add("done");
        note.textContent = "✓ " + (action.title || "Submitted");
      })
      .catch(function (err) {
        note.style.color = "var(--bad)";
        note.textContent = "Not sent (" + (err && err.message ? err.message : "network error") + ")";
      })
      .then(function () { button.disabled = false; });
  }

  // ---------------------------------------------------------------- networking

  var source = null;
  var backoff = 1000;
  var catchUpTimer = null;
  var lastEventAt = 0;
  var lastRenderAt = 0;

  function applyState(state) {
    lastRenderAt = Date.now();
    banner(null);
    render(state);
  }

  function connect() {
    if (denied) return;
    if (source) source.close();
    setConn(lastState ? "reconnecting" : "connecting");
    source = new EventSource(base + "/events" + query);
    source.onopen = function () { setConn("live"); };
    source.addEventListener("state", function (event) {
      lastEventAt = Date.now();
      backoff = 1000;
      setConn("live");
      var state;
      try { state = JSON.parse(event.data); } catch (e) { if (window.console) console.error("bad state event", e); return; }
      applyState(state);
    });
    source.onerror = function () {
      if (denied) return;
      // EventSource retries by itself while the stream is merely dropped; when it gives up (an HTTP error such as
      // 404) readyState is CLOSED and we reconnect ourselves. Either way, catch up from /copilot/state after a
      // backoff so nothing that changed while the stream was down is missed.
      setConn(navigator.onLine === false ? "offline" : "reconnecting");
      if (source && source.readyState === EventSource.CLOSED) { source.close(); source = null; }
      scheduleCatchUp();
    };
  }

  function scheduleCatchUp() {
    if (catchUpTimer || denied) return;
    var wait = backoff + Math.floor(Math.random() * 250);
    backoff = Math.min(backoff * 2, 30000);
    catchUpTimer = setTimeout(function () {
      catchUpTimer = null;
      fetchState(true);
      if (!source) connect();
    }, wait);
  }

  function fetchState(retryOnFailure) {
    if (denied) return Promise.resolve();
    var started = Date.now();
    return fetch(base + "/state" + query, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404 || response.status === 401) {
          var status = response.status;
          return response.json().catch(function () { return {}; }).then(function (body) {
            var err = isObject(body.error) ? body.error.message || body.error.code : body.error || body.message;
            throw { notFound: status === 404, denied: status === 401, message: err ? String(err) : status === 404 ? "not found" : "no access" };
          });
        }
        if (!response.ok) throw { message: "HTTP " + response.status };
        return response.json();
      })
      .then(function (state) {
        if (lastEventAt > started) return; // the stream already delivered something newer
        applyState(state);
        if (source && source.readyState === EventSource.OPEN) setConn("live");
      })
      .catch(function (err) {
        if (err && err.denied) {
          // missing_access / invalid_access: ask for a new link (parley copilot link); retrying cannot help.
          denied = true;
          if (catchUpTimer) { clearTimeout(catchUpTimer); catchUpTimer = null; }
          if (source) { source.close(); source = null; }
          banner("This workspace link has expired or is not valid (" + err.message + ").");
          setConn("error", "No access");
          return;
        }
        if (err && err.notFound) {
          banner("This workspace link is not valid (" + err.message + "). Check the URLToken, userId and sessionId in the link.");
          setConn("error", "Not found");
        } else if (navigator.onLine === false) {
          setConn("offline");
        }
        if (retryOnFailure) scheduleCatchUp();
      });
  }

  // ---------------------------------------------------------------- start

  document.getElementById("session-id").textContent = sessionId || "–";
  document.getElementById("session-id").title = sessionId;
  document.getElementById("user-id").textContent = userId || "–";
  document.getElementById("user-id").title = userId;
  if (sessionId) document.title = "Workspace " + sessionId + " · Parley";

  if (!userId || !sessionId || !urlToken) {
    banner("This page needs userId, sessionId and URLToken in its link: /copilot/?userId=…&sessionId=…&URLToken=…");
    setConn("error", "No session");
    render({ grid: null, tiles: {}, transcript: [], interim: {} });
    return;
  }

  fetchState(false);
  connect();
  window.addEventListener("online", function () { if (denied) return; if (!source) connect(); fetchState(false); });
  // A quiet stream shows nothing (keep-alives are comments); re-read the state now and then to be sure.
  setInterval(function () {
    if (!denied && document.visibilityState === "visible" && Date.now() - lastRenderAt > 60000) fetchState(false);
  }, 20000);
})();
