"""The status page's script, first half: the API calls, the key, the list and its paging.

The second half (summary, chart, detail, actions) is :mod:`shared.http.ui_panels`; the page
(:mod:`shared.http.ui`) joins both into its one inline script, allowed by its hash.

The key comes from the page's fragment (``/ui#key=…``, which a browser never sends to a
server: ``courier ui`` prints such a link) or from the key screen, and is kept in the tab's
session storage; the fragment is removed from the address bar as soon as it is read. A 401
shows the key screen, saying whether the tab had no key or the API refused the one it sent.
"""

from __future__ import annotations

SCRIPT = r"""
"use strict";
const KEY = "courier-api-key";
const STATES = ["accepted","submitted","ready","copying","delivered","failed","cancelled"];
const PROVIDERS = __PROVIDERS__;
const $ = (id) => document.getElementById(id);
const hooks = {}, hookAt = {};
let selected = null, items = [], nextCursor = null, pages = [""];
let locked = true, busy = false, summaryAt = 0, listed = "";

class Refused extends Error {}

function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const kid of kids) node.append(kid instanceof Node ? kid : String(kid ?? ""));
  return node;
}
function ago(iso) {
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const a = Math.abs(s), sfx = s >= 0 ? " ago" : " from now";
  if (a < 45) return s >= 0 ? "just now" : "in a moment";
  if (a < 3600) return Math.round(a / 60) + " min" + sfx;
  if (a < 86400) return Math.round(a / 3600) + " h" + sfx;
  return Math.round(a / 86400) + " d" + sfx;
}
function exact(iso) { return iso + " (" + new Date(iso).toLocaleString() + ")"; }
function when(iso) {
  if (!iso) return "-";
  return el("time", {"datetime": iso, "title": exact(iso)}, ago(iso));
}
function seconds(s) {
  if (typeof s !== "number") return "-";
  if (s < 120) return s.toFixed(s < 10 ? 1 : 0) + " s";
  if (s < 7200) return (s / 60).toFixed(0) + " min";
  return (s / 3600).toFixed(1) + " h";
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
  return el("span", {"title": label}, b, el("span", {"class": "small"}, label));
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
function progressCell(x) {
  if (!["copying", "delivered"].includes(x.state)) return providerCell(x);
  const {done, total} = copyOf(x);
  if (!total) return "-";
  const pct = Math.round(100 * done / total);
  const b = bar(pct, pct + "%", "copy");
  b.title = "copy: " + size(done) + " / " + size(total);
  return b;
}
function webUrl(uri) {
  try { return ["http:", "https:"].includes(new URL(uri).protocol); } catch (e) { return false; }
}
function destCell(x) {
  const d = x.destination || {};
  const named = x.destination_name ? x.destination_name + ": " : "";
  if (!d.uri) return x.destination_name ? named + "-" : "-";
  if (!webUrl(d.uri)) return el("span", {"title": d.uri}, named + (d.key || d.uri));
  return el("a", {"href": d.uri, "title": d.uri, "rel": "noopener noreferrer"},
            named + (d.key || d.uri));
}
function reasonOf(x) {
  const e = x.error || {};
  return [e.code, e.reason].filter(Boolean).join(": ") || "no reason recorded";
}
function sent(d) { return (d.attempts || []).filter((a) => !("action" in a)); }
function hookFailing(d) {
  if (["dead", "disabled"].includes(d.state)) return true;
  const last = sent(d).pop();
  return d.state === "pending" && !!last && !(last.status >= 200 && last.status < 300);
}
function lastError(d) {
  const a = sent(d).pop() || {};
  const why = a.error || (a.status ? "HTTP " + a.status : d.state);
  const n = sent(d).length;
  return why + " (" + n + (n === 1 ? " attempt)" : " attempts)");
}
function hookCell(x) {
  const list = hooks[x.id];
  if (!list) return "-";
  if (!list.length) return "none";
  return el("span", {}, ...list.map((d, i) => el("span",
    {"class": hookFailing(d) ? "reason" : "", "data-delivery": d.id},
    (i && !hookFailing(d) ? ", " : "") + d.event_type + " " + d.state +
    (hookFailing(d) ? ": " + lastError(d) : ""))));
}
async function api(path, method, body) {
  const headers = {};
  const key = sessionStorage.getItem(KEY);
  if (key) headers["X-Api-Key"] = key;
  const init = {method: method || "GET", headers, cache: "no-store"};
  if (init.method === "POST") headers["Content-Type"] = "application/json";
  if (body !== undefined) init.body = JSON.stringify(body);
  const answer = await fetch(path, init);
  if (answer.status === 401) {
    sessionStorage.removeItem(KEY);
    showLogin(key ? "refused" : "missing");
    throw new Refused("401");
  }
  let data = null;
  try { data = await answer.json(); } catch (e) { data = null; }
  if (!answer.ok) {
    throw new Error((data && (data.detail || data.message)) ||
                    ("the API answered HTTP " + answer.status));
  }
  return data;
}
const WHY = {
  missing: "The API wants a key, and this tab has none yet.",
  refused: "The API refused the key this tab sent (401): it is not one of " +
           "COURIER_API_KEYS, or the courier ui session that printed it has ended.",
  forgotten: "Key forgotten: this tab has none now."};
function showLogin(kind) {
  locked = true;
  $("login").hidden = false; $("app").hidden = true;
  $("why").textContent = WHY[kind] || "";
  $("why").className = kind;
  $("why").dataset.reason = kind;
  $("key").focus();
}
function keyFromFragment() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (!h.has("key")) return false;
  if (h.get("key")) sessionStorage.setItem(KEY, h.get("key"));
  history.replaceState(null, "", location.pathname + location.search);
  return !!h.get("key");
}
function notice(text, bad) {
  const n = $("notice");
  n.hidden = !text; n.textContent = text || ""; n.className = bad ? "error" : "";
}
function status(text, bad) {
  $("status").textContent = text; $("status").className = bad ? "error" : "";
}
async function loadHooks(list) {
  const now = Date.now(), want = list.filter((x) =>
    (["delivered", "failed", "cancelled"].includes(x.state) || x.stage === "waiting") &&
    (!hooks[x.id] || now - (hookAt[x.id] || 0) > 10000 ||
     hooks[x.id + "@"] !== x.updated_at));
  await Promise.all(want.map(async (x) => {
    const page = await api("exports/" + encodeURIComponent(x.id) + "/deliveries?limit=50");
    hooks[x.id] = page.items; hookAt[x.id] = now; hooks[x.id + "@"] = x.updated_at;
  }));
}
function row(x) {
  const failing = (hooks[x.id] || []).some(hookFailing);
  const state = el("td", {"class": "state-" + x.state}, x.state + (x.stage ? "/" + x.stage : ""));
  if (x.state === "failed") state.append(el("span", {"class": "reason"}, reasonOf(x)));
  const tr = el("tr", {"data-id": x.id, "data-state": x.state,
                       "class": (x.state === "failed" ? "failed " : "") +
                                (failing ? "hook-failing " : "") +
                                (x.id === selected ? "picked" : "")},
    el("td", {"class": "id", "title": x.id}, x.id), el("td", {}, x.provider), state,
    el("td", {}, progressCell(x)), el("td", {}, size(copyOf(x).total || null)),
    el("td", {"class": "dest"}, destCell(x)), el("td", {"class": "hooks"}, hookCell(x)),
    el("td", {"class": "created"}, when(x.created_at)));
  tr.addEventListener("click", () => { selected = x.id; refresh(); });
  return tr;
}
function listQuery() {
  const q = new URLSearchParams({limit: $("size").value});
  if ($("state").value) q.set("state", $("state").value);
  if ($("provider").value) q.set("provider", $("provider").value);
  if (pages[pages.length - 1]) q.set("cursor", pages[pages.length - 1]);
  return q;
}
async function refresh() {
  if (locked || busy) return;
  busy = true;
  try {
    const page = await api("exports?" + listQuery());
    $("login").hidden = true; $("app").hidden = false;
    items = page.items; nextCursor = page.next_cursor;
    await loadHooks(items);
    const seen = JSON.stringify([items, items.map((x) => hooks[x.id] || null), selected,
                                 Math.floor(Date.now() / 30000)]);
    if (seen !== listed) { listed = seen; $("rows").replaceChildren(...items.map(row)); }
    $("empty").hidden = items.length > 0;
    const n = Number($("size").value), first = (pages.length - 1) * n;
    $("where").textContent = "page " + pages.length + (items.length ? " · newest first · " +
      (first + 1) + "–" + (first + items.length) : "");
    $("newer").disabled = pages.length < 2; $("older").disabled = !nextCursor;
    if (Date.now() - summaryAt > 30000) await loadSummary();
    await showDetail();
    status(items.length + " shown, updated " + new Date().toLocaleTimeString());
  } catch (e) {
    if (!(e instanceof Refused)) status("error: " + e.message, true);
  } finally { busy = false; }
}
function restart() { pages = [""]; refresh(); }
function start() {
  keyFromFragment();
  for (const s of STATES) $("state").append(el("option", {"value": s}, s));
  for (const p of PROVIDERS) $("provider").append(el("option", {"value": p}, p));
  for (const id of ["state", "provider", "size"]) $(id).addEventListener("change", restart);
  $("older").addEventListener("click", () => {
    if (nextCursor) { pages.push(nextCursor); refresh(); }
  });
  $("newer").addEventListener("click", () => {
    if (pages.length > 1) { pages.pop(); refresh(); }
  });
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = $("key").value.trim();
    $("key").value = "";
    if (!key) { showLogin("missing"); return; }
    sessionStorage.setItem(KEY, key);
    locked = false; summaryAt = 0; refresh();
  });
  $("forget").addEventListener("click", () => { sessionStorage.removeItem(KEY);
                                                showLogin("forgotten"); });
  window.addEventListener("hashchange", () => {
    if (keyFromFragment()) { locked = false; summaryAt = 0; refresh(); }
  });
  wireConfirm();
  locked = false;
  refresh();
  setInterval(refresh, 3000);
}
"""
