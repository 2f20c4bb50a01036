"""The status page's script, second half: the summary with its chart, the detail beside the
list, and the actions (see :mod:`shared.http.ui_script` for the first half).

Every action goes through the API's own route (``POST /exports/<id>/retry``, ``/cancel``,
``/check``, ``POST /deliveries/<id>/resend``, ``POST /endpoints/recover``) and only after the
person confirms it in a dialog that says what it will do; what the API answers — its problem
text when it refuses — is shown at the top of the page.
"""

from __future__ import annotations

PANELS = r"""
const SVG = "http://www.w3.org/2000/svg";
let pending = null;

function svg(tag, attrs, ...kids) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const kid of kids) node.append(kid instanceof Node ? kid : String(kid ?? ""));
  return node;
}
function card(title, id, ...kids) {
  return el("div", {"class": "card", "id": id}, el("h2", {}, title), ...kids);
}
function chart(last) {
  const W = 264, H = 84, bw = W / 24;
  const top = Math.max(1, ...last.hours.map((h) => h.delivered + h.failed));
  const slow = Math.max(1, ...last.hours.map((h) => h.mean_delivered_s || 0));
  const box = svg("svg", {"width": W, "height": H + 14, "viewBox": "0 0 " + W + " " + (H + 14),
                          "role": "img", "aria-label": "exports finished per hour"});
  box.append(svg("line", {"x1": 0, "y1": H, "x2": W, "y2": H, "stroke": "#c5cad3"}));
  const line = [];
  last.hours.forEach((h, i) => {
    const x = i * bw + 1, dh = H * h.delivered / top, fh = H * h.failed / top;
    const g = svg("g", {"data-hour": h.start},
      svg("title", {}, new Date(h.start).toLocaleString() + ": " + h.delivered +
          " delivered, " + h.failed + " failed" + (h.mean_delivered_s != null ?
          ", accept-to-delivered mean " + seconds(h.mean_delivered_s) + ", longest " +
          seconds(h.max_delivered_s) : "")),
      svg("rect", {"x": x, "y": 0, "width": bw - 2, "height": H, "fill": "transparent"}),
      svg("rect", {"x": x, "y": H - dh, "width": bw - 2, "height": dh, "fill": "#16a34a"}),
      svg("rect", {"x": x, "y": H - dh - fh, "width": bw - 2, "height": fh,
                   "fill": "#dc2626"}));
    box.append(g);
    if (h.mean_delivered_s != null) {
      line.push((x + bw / 2 - 1).toFixed(1) + "," +
                (H - H * h.mean_delivered_s / slow).toFixed(1));
    }
  });
  if (line.length) {
    box.append(svg("polyline", {"points": line.join(" "), "fill": "none", "stroke": "#2563eb",
                                "stroke-width": 1.5}));
  }
  const small = {"font-size": 10, "fill": "#5b6475"};
  box.append(svg("text", {"x": 0, "y": H + 12, ...small}, "24 h ago"),
             svg("text", {"x": W, "y": H + 12, "font-size": 10, "fill": "#5b6475",
                          "text-anchor": "end"}, "now"),
             svg("text", {"x": 2, "y": 10, "font-size": 10, "fill": "#5b6475"}, top + "/h"));
  return box;
}
function renderSummary(s) {
  const chips = el("div", {"class": "chips"}, ...STATES.filter((k) => s.by_state[k]).map(
    (k) => el("span", {"class": "chip state-" + k, "data-state": k}, k + " " + s.by_state[k])));
  const prov = el("table", {}, ...Object.keys(s.by_provider).sort().map((p) => {
    const per = s.by_provider[p], n = Object.values(per).reduce((a, b) => a + b, 0);
    return el("tr", {"data-provider": p}, el("td", {}, p), el("td", {}, n + " exports"),
      el("td", {"class": per.failed ? "state-failed" : ""},
         per.failed ? per.failed + " failed" : ""));
  }));
  const o = s.oldest_waiting;
  const oldest = o ? el("div", {}, el("a", {"href": "#", "data-open": o.id}, o.id),
    el("div", {}, o.provider + " · " + o.state + " · waiting since ", when(o.created_at)))
    : el("div", {}, "nothing waiting");
  const eps = s.failing_endpoints.length ? el("ul", {}, ...s.failing_endpoints.map((e) => {
    const b = el("button", {"class": "act", "type": "button", "data-recover": e.endpoint},
                 "recover");
    b.addEventListener("click", () => ask("Re-enable " + e.endpoint + " and queue again the " +
      "deliveries it missed since " + (e.failing_since || "24 hours ago") + "?",
      () => api("endpoints/recover", "POST", {endpoint: e.endpoint, since: e.failing_since ||
                new Date(Date.now() - 86400000).toISOString()}),
      (r) => r.recovered + " deliveries queued again for " + r.endpoint));
    return el("li", {"class": "state-failed"}, e.endpoint + " — " + e.state + ", " +
      e.consecutive_failures + " failures in a row" + (e.disabled_reason ? " (" +
      e.disabled_reason + ")" : "") + " ", b);
  })) : el("div", {}, "none");
  const last = s.last_24h;
  const legend = el("div", {"class": "legend"}, last.delivered + " delivered, " + last.failed +
    " failed; accept-to-delivered mean " + seconds(last.mean_delivered_s),
    el("br"), el("span", {"class": "sw", "style": "background:#16a34a"}), "delivered",
    el("span", {"class": "sw", "style": "background:#dc2626"}), "failed",
    el("span", {"class": "sw", "style": "background:#2563eb"}), "mean time");
  $("summary").replaceChildren(
    card("exports", "by-state", el("div", {"class": "big"}, String(s.total)), chips),
    card("by provider", "by-provider", prov),
    card("oldest waiting", "oldest", oldest),
    card("failing endpoints", "endpoints", eps),
    card("last 24 hours", "chart", chart(last), legend));
  for (const a of $("summary").querySelectorAll("a[data-open]")) {
    a.addEventListener("click", (ev) => {
      ev.preventDefault(); selected = a.dataset.open; refresh();
    });
  }
}
async function loadSummary() { renderSummary(await api("summary")); summaryAt = Date.now(); }
function wireConfirm() {
  $("confirm-no").addEventListener("click", () => { pending = null; $("confirm").close(); });
  $("confirm-yes").addEventListener("click", async () => {
    const job = pending; pending = null; $("confirm").close();
    if (!job) return;
    try { notice(job.done(await job.run())); }
    catch (e) { if (!(e instanceof Refused)) notice("refused: " + e.message, true); }
    summaryAt = 0; for (const k of Object.keys(hookAt)) delete hookAt[k];
    refresh();
  });
}
function ask(text, run, done) {
  pending = {run, done};
  $("confirm-text").textContent = text;
  $("confirm").showModal();
}
function action(label, text, path, done, danger) {
  const b = el("button", {"class": "act" + (danger ? " danger" : ""), "type": "button",
                          "data-action": label}, label);
  b.addEventListener("click", () => ask(text, () => api(path, "POST"), done));
  return b;
}
function exportActions(x) {
  const p = "exports/" + encodeURIComponent(x.id) + "/", out = [];
  if (x.state === "failed") out.push(action("retry", "Retry export " + x.id + "? It starts " +
    "over at the provider.", p + "retry", () => "export " + x.id + " accepted again"));
  if (["accepted", "submitted"].includes(x.state)) out.push(action("check now", "Ask the " +
    "provider about " + x.id + " at the next tick?", p + "check", () => "export " + x.id +
    " will be checked at the next tick"));
  if (["accepted", "submitted", "ready"].includes(x.state)) out.push(action("cancel",
    "Cancel export " + x.id + "? It is cancelled at the provider too, and export.cancelled " +
    "is sent.", p + "cancel", () => "export " + x.id + " cancelled", true));
  return out;
}
async function showDetail() {
  const box = $("detail");
  if (!selected) { box.hidden = true; $("layout").className = "closed"; shown = ""; return; }
  let x = items.find((i) => i.id === selected);
  if (!x) x = await api("exports/" + encodeURIComponent(selected));
  if (!hooks[x.id] || Date.now() - (hookAt[x.id] || 0) > 10000) await loadHooks([x]);
  detail(x);
}
let shown = "";
function detail(x) {
  const box = $("detail");
  box.hidden = false; $("layout").className = "";
  const seen = JSON.stringify([x, hooks[x.id] || null, Math.floor(Date.now() / 30000)]);
  if (seen === shown) return;  // unchanged: keep the nodes (and what the person points at)
  shown = seen;
  const d = x.destination || {}, copy = d.copy || {};
  const close = el("button", {"class": "act", "type": "button"}, "close");
  close.addEventListener("click", () => { selected = null; refresh(); });
  const pairs = [["provider", x.provider],
    ["account", x.account || "the deployment's own"],
    ["state", x.state + (x.stage ? "/" + x.stage : "")],
    ["provider progress", providerCell(x)], ["copy", copyCell(x)],
    ["copy speed", copy.throughput_mb_s != null ?
      copy.duration_s + " s at " + copy.throughput_mb_s + " MB/s" : "-"],
    ["destination", [x.destination_name, d.uri].filter(Boolean).join(" ") || "-"],
    ["md5", d.md5 || "-"],
    ["created", when(x.created_at)], ["updated", when(x.updated_at)],
    ["next check", when(x.next_check_at)], ["round", String(x.round || 0)],
    ["params", JSON.stringify(x.params)]];
  if (x.error) pairs.splice(3, 0, ["error", el("span", {"class": "reason"}, reasonOf(x))]);
  const dl = el("dl");
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v));
  const kids = [el("h2", {}, "Export " + x.id), el("div", {"class": "actions"},
    ...exportActions(x), close), dl];
  if (x.parts) {
    kids.push(el("h3", {}, "Parts at the provider (" + x.parts.length + ")"),
      el("table", {"id": "parts"}, el("tr", {}, ...["from", "to", "logs", "vendor export",
        "status"].map((h) => el("th", {}, h))), ...x.parts.map((p) => el("tr", {},
        el("td", {}, when(p.from != null ? new Date(p.from).toISOString() : null)),
        el("td", {}, when(p.to != null ? new Date(p.to).toISOString() : null)),
        el("td", {}, p.log_count ?? "-"), el("td", {}, p.export_id || "-"),
        el("td", {}, p.status || "-")))));
  }
  if (d.manifest) {
    kids.push(el("h3", {}, "Files"), el("dl", {"id": "files"},
      el("dt", {}, "files"), el("dd", {}, String(d.objects ?? "-") + " objects, " + size(d.size)),
      el("dt", {}, "manifest"), el("dd", {"title": d.manifest.uri || ""},
        (d.manifest.key || d.manifest.uri) + " (" + size(d.manifest.size) + ")")));
  }
  const body = el("tbody");
  for (const h of hooks[x.id] || []) {
    const resend = action("resend", "Send " + h.event_type + " to " + h.endpoint + " again " +
      "(same webhook-id)?", "deliveries/" + encodeURIComponent(h.id) + "/resend",
      () => "delivery " + h.id + " queued again");
    const tries = sent(h);
    body.append(el("tr", {"data-delivery": h.id, "class": hookFailing(h) ? "failed" : ""},
      el("td", {}, h.event_type), el("td", {"class": hookFailing(h) ? "state-failed" : ""},
        h.state), el("td", {}, tries.length ? when(tries[tries.length - 1].time) : "-"),
      el("td", {}, tries.length ? String(tries[tries.length - 1].status ?? "-") : "-"),
      el("td", {}, tries.length ? (tries[tries.length - 1].error || "") : ""),
      el("td", {}, h.endpoint), el("td", {}, resend)));
  }
  kids.push(el("h3", {}, "Webhook deliveries"), el("table", {"id": "attempts"},
    el("colgroup", {}, ...[15, 12, 12, 8, 17, 20, 16].map(
      (w) => el("col", {"style": "width:" + w + "%"}))),
    el("thead", {}, el("tr", {}, ...["event", "state", "last try", "status", "error",
      "endpoint", ""].map((h) => el("th", {}, h)))), body));
  box.replaceChildren(...kids);
}
start();
"""
