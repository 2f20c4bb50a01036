"""``GET /ui``: the status page, one self-contained HTML document (no CDN, no build step).

The page itself holds no data and no secret, so it is served without credentials; everything
it shows it fetches from the API (``GET /exports``, ``GET /exports/<id>/deliveries``) with the
API key the person types in, which it keeps in the tab's session storage only. It lists the
exports with their state, provider, provider progress and copy progress bars, size,
destination and webhook status, filters by state and provider, and opens a detail view with
the delivery attempts. A strict Content-Security-Policy allows only its own inline script
and requests to its own origin.

Every value is put in the page as text, never as HTML. A destination is a link only when its
URI is ``http:`` or ``https:`` (a bucket behind a web address); every other scheme
(``s3:``, ``cos:``, ``file:``, and anything else a value might carry, ``javascript:``,
``data:``) is shown as text with the URI in its tooltip: a browser cannot open a bucket URI,
and a link that runs script must never exist, whatever the CSP allows.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from shared.providers import REGISTRY

PATH = "/ui"

STYLE = """
body{font:14px system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{display:flex;gap:12px;align-items:center;padding:10px 16px;background:#1d2433;color:#fff}
header h1{font-size:16px;margin:0 12px 0 0}
header select,header button{font:inherit}
#status{margin-left:auto;font-size:12px;opacity:.8}
main{padding:12px 16px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e6eb;white-space:nowrap}
td.dest{max-width:320px;overflow:hidden;text-overflow:ellipsis}
th{font-size:12px;text-transform:uppercase;color:#5b6475}
tbody tr{cursor:pointer}tbody tr:hover{background:#eef3ff}
.bar{display:inline-block;width:110px;height:10px;background:#e3e6eb;border-radius:5px;
vertical-align:middle;overflow:hidden}
.bar>span{display:block;height:100%;background:#3b82f6}
.bar.done>span{background:#16a34a}
.small{font-size:12px;color:#5b6475;margin-left:6px}
.state-delivered{color:#16a34a}.state-failed{color:#dc2626}.state-cancelled{color:#6b7280}
.state-copying,.state-ready{color:#0891b2}.state-submitted,.state-accepted{color:#b45309}
#detail{margin-top:16px;background:#fff;padding:12px;border:1px solid #e3e6eb}
#detail dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 12px}
#detail dt{font-weight:600}#detail dd{margin:0;word-break:break-all}
#login{max-width:420px;margin:60px auto;background:#fff;padding:20px;border:1px solid #e3e6eb}
#login input{width:100%;box-sizing:border-box;padding:6px;margin:8px 0;font:inherit}
.error{color:#dc2626}
[hidden]{display:none!important}
"""

SCRIPT = r"""
"use strict";
const KEY = "courier-api-key";
const STATES = ["accepted","submitted","ready","copying","delivered","failed","cancelled"];
const PROVIDERS = __PROVIDERS__;
const $ = (id) => document.getElementById(id);
const hooks = {};
let selected = null;

function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const kid of kids) node.append(kid instanceof Node ? kid : String(kid ?? ""));
  return node;
}
function size(n) {
  if (typeof n !== "number") return "-";
  return n < 1048576 ? (n / 1024).toFixed(1) + " KB" : (n / 1048576).toFixed(1) + " MB";
}
function bar(pct, label, kind) {
  const p = Math.max(0, Math.min(100, pct));
  const b = el("span", {"class": "bar" + (p >= 100 ? " done" : ""), "data-kind": kind,
                        "data-pct": String(Math.round(p)), "role": "progressbar",
                        "aria-valuenow": String(Math.round(p))}, el("span"));
  b.firstChild.style.width = p + "%";
  return el("span", {}, b, el("span", {"class": "small"}, label));
}
function copyOf(x) {
  const d = x.destination || {}, c = d.copy || {};
  let done = c.bytes_done || 0, total = c.bytes_total || d.size || (x.result || {}).size || 0;
  if (x.state === "delivered" && typeof d.size === "number") { done = total = d.size; }
  return {done, total};
}
function copyCell(x) {
  const {done, total} = copyOf(x);
  if (!done && !total) return "-";
  const pct = total ? 100 * done / total : 0;
  return bar(pct, size(done) + " / " + size(total) + (total ? " " + Math.round(pct) + "%" : ""),
             "copy");
}
function providerCell(x) {
  return typeof x.progress === "number" ? bar(x.progress, x.progress + "%", "provider") : "-";
}
function webUrl(uri) {
  try { return ["http:", "https:"].includes(new URL(uri).protocol); } catch (e) { return false; }
}
function destCell(x) {
  const d = x.destination || {};
  if (!d.uri) return "-";
  if (!webUrl(d.uri)) return el("span", {"title": d.uri}, d.key || d.uri);
  return el("a", {"href": d.uri, "title": d.uri, "rel": "noopener noreferrer"}, d.key || d.uri);
}
function hookCell(x) {
  const list = hooks[x.id];
  if (!list) return "-";
  if (!list.length) return "none";
  return list.map((d) => d.event_type + " " + d.state).join(", ");
}
async function api(path) {
  const headers = {};
  const key = sessionStorage.getItem(KEY);
  if (key) headers["X-Api-Key"] = key;
  const answer = await fetch(path, {headers, cache: "no-store"});
  if (answer.status === 401) { showLogin("The API wants a key (401)."); throw new Error("401"); }
  const body = await answer.json();
  if (!answer.ok) throw new Error(body.detail || body.message || ("HTTP " + answer.status));
  return body;
}
function showLogin(why) {
  $("login").hidden = false; $("app").hidden = true;
  $("why").textContent = why || "";
}
async function loadHooks(items) {
  for (const x of items) {
    const seen = hooks[x.id + "@"];
    if (seen === x.updated_at) continue;
    if (!["delivered","failed"].includes(x.state) && x.stage !== "waiting") continue;
    const page = await api("exports/" + encodeURIComponent(x.id) + "/deliveries");
    hooks[x.id] = page.items; hooks[x.id + "@"] = x.updated_at;
  }
}
function row(x) {
  const tr = el("tr", {"data-id": x.id, "data-state": x.state},
    el("td", {}, x.id), el("td", {}, x.provider),
    el("td", {"class": "state-" + x.state}, x.state + (x.stage ? "/" + x.stage : "")),
    el("td", {}, providerCell(x)), el("td", {}, copyCell(x)),
    el("td", {}, size(copyOf(x).total || null)), el("td", {"class": "dest"}, destCell(x)),
    el("td", {"class": "hooks"}, hookCell(x)), el("td", {}, x.created_at || ""));
  tr.addEventListener("click", () => { selected = x.id; refresh(); });
  return tr;
}
function detail(x) {
  const box = $("detail");
  box.hidden = false; box.replaceChildren();
  const err = x.error ? (x.error.code || "") + " " + (x.error.reason || "") : "-";
  const copy = (x.destination || {}).copy || {};
  const pairs = [["id", x.id], ["provider", x.provider],
    ["state", x.state + (x.stage ? "/" + x.stage : "")], ["provider progress", providerCell(x)],
    ["copy", copyCell(x)], ["copy speed", copy.throughput_mb_s != null ?
      copy.duration_s + " s at " + copy.throughput_mb_s + " MB/s" : "-"],
    ["destination", (x.destination || {}).uri || "-"], ["md5", (x.destination || {}).md5 || "-"],
    ["error", err], ["created", x.created_at], ["updated", x.updated_at],
    ["next check", x.next_check_at || "-"], ["params", JSON.stringify(x.params)]];
  const dl = el("dl");
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v));
  const attempts = el("table", {"id": "attempts"}, el("thead", {}, el("tr", {},
    ...["delivery", "event", "state", "time", "status", "latency", "error", "endpoint"]
      .map((h) => el("th", {}, h)))));
  const body = el("tbody");
  for (const d of hooks[x.id] || []) {
    for (const a of d.attempts.length ? d.attempts : [{}]) {
      body.append(el("tr", {"data-delivery": d.id}, el("td", {}, d.id), el("td", {}, d.event_type),
        el("td", {}, d.state), el("td", {}, a.time || "-"),
        el("td", {}, a.status ?? a.action ?? "-"),
        el("td", {}, a.latency_ms != null ? a.latency_ms + " ms" : "-"),
        el("td", {}, a.error || ""), el("td", {}, d.endpoint)));
    }
  }
  attempts.append(body);
  box.append(el("h2", {}, "Export " + x.id), dl, el("h3", {}, "Webhook deliveries"), attempts);
}
async function refresh() {
  try {
    const q = new URLSearchParams({limit: "200"});
    if ($("state").value) q.set("state", $("state").value);
    if ($("provider").value) q.set("provider", $("provider").value);
    const page = await api("exports?" + q);
    $("login").hidden = true; $("app").hidden = false;
    await loadHooks(page.items);
    $("rows").replaceChildren(...page.items.map(row));
    $("empty").hidden = page.items.length > 0;
    const pick = page.items.find((x) => x.id === selected);
    if (pick) detail(pick);
    $("status").textContent = page.items.length + " exports, updated " +
      new Date().toLocaleTimeString();
    $("status").className = "";
  } catch (e) {
    if (e.message !== "401") { $("status").textContent = "error: " + e.message;
                               $("status").className = "error"; }
  }
}
function start() {
  for (const s of STATES) $("state").append(el("option", {"value": s}, s));
  for (const p of PROVIDERS) $("provider").append(el("option", {"value": p}, p));
  $("state").addEventListener("change", refresh);
  $("provider").addEventListener("change", refresh);
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    $("key").value = "";
    refresh();
  });
  $("forget").addEventListener("click", () => { sessionStorage.removeItem(KEY);
                                                showLogin("Key forgotten."); });
  refresh();
  setInterval(refresh, 2000);
}
start();
"""

BODY = """<header><h1>Export Courier</h1>
<label>state <select id="state"><option value="">all</option></select></label>
<label>provider <select id="provider"><option value="">all</option></select></label>
<button id="forget" type="button">forget key</button><span id="status"></span></header>
<section id="login" hidden><form id="login-form"><h2>API key</h2>
<p id="why"></p><p>It stays in this tab's session storage.</p>
<input id="key" type="password" autocomplete="off" placeholder="X-Api-Key">
<button type="submit">Show exports</button></form></section>
<main id="app"><table><thead><tr><th>export</th><th>provider</th><th>state</th>
<th>provider progress</th><th>copy</th><th>size</th><th>destination</th><th>webhooks</th>
<th>created</th></tr></thead><tbody id="rows"></tbody></table>
<p id="empty" hidden>No exports match.</p><section id="detail" hidden></section></main>"""


@functools.lru_cache(maxsize=1)
def page() -> tuple[str, str]:
    """The document and its Content-Security-Policy (built on first request)."""
    # the provider filter offers every registered provider
    script = SCRIPT.replace("__PROVIDERS__", json.dumps(sorted(REGISTRY)))
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    html = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Export Courier</title><style>{STYLE}</style></head><body>{BODY}"
            f"<script>{script}</script></body></html>")
    return html, csp


def is_page(rest: dict[str, Any]) -> bool:
    """``GET /ui``: the one request that needs no credentials (the page holds no data)."""
    return rest.get("httpMethod") == "GET" and rest.get("path") == PATH


def router() -> Router:
    r = Router()

    @r.get(PATH)
    def ui() -> Response:
        html, csp = page()
        return Response(status_code=200, content_type="text/html; charset=utf-8", body=html,
                        headers={"Content-Security-Policy": csp, "Cache-Control": "no-store",
                                 "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer"})

    return r
