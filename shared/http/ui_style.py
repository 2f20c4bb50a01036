"""The status page's style sheet and body (see :mod:`shared.http.ui`).

The layout fits 1366 px without horizontal scrolling: the summary strip wraps, the list and the
detail share the width (the detail beside the list, sticky), and the list's table has a fixed
layout whose long cells (ids, destinations, reasons) wrap or end in an ellipsis.
"""

from __future__ import annotations

STYLE = """
*{box-sizing:border-box}
body{font:13px system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;gap:10px;align-items:center;padding:8px 16px;
background:#1d2433;color:#fff}
header h1{font-size:16px;margin:0 10px 0 0}
header select,header button{font:inherit}
#status{margin-left:auto;font-size:12px;opacity:.85}
#notice{margin:8px 16px 0;padding:8px 12px;border:1px solid #93c5fd;background:#eff6ff}
#notice.error{border-color:#fca5a5;background:#fef2f2;color:#991b1b}
#summary{display:flex;flex-wrap:wrap;gap:10px;padding:10px 16px 0;align-items:flex-start}
.card{background:#fff;border:1px solid #e3e6eb;padding:8px 10px;min-width:150px;
max-width:100%}
.card h2{font-size:11px;text-transform:uppercase;color:#5b6475;margin:0 0 6px}
.card .big{font-size:18px;font-weight:600}
.chips{display:flex;flex-wrap:wrap;gap:4px;max-width:240px}
.chip{padding:1px 7px;border-radius:9px;background:#eef1f5;font-size:12px;white-space:nowrap}
.card table{border-collapse:collapse;font-size:12px}
.card td,.card th{padding:1px 6px 1px 0;text-align:left;white-space:nowrap}
.card ul{margin:0;padding:0;list-style:none;max-width:280px;font-size:12px}
.card li{margin:2px 0;overflow-wrap:anywhere}
#chart svg{display:block}
.legend{font-size:11px;color:#5b6475}
.sw{display:inline-block;width:9px;height:9px;margin:0 3px 0 8px;vertical-align:-1px}
#layout{display:grid;grid-template-columns:minmax(0,1fr) 440px;gap:12px;padding:10px 16px}
#layout.closed{grid-template-columns:minmax(0,1fr)}
#listbox{min-width:0}
table.list{border-collapse:collapse;width:100%;background:#fff;table-layout:fixed}
table.list th,table.list td{text-align:left;padding:5px 6px;border-bottom:1px solid #e3e6eb;
vertical-align:top;overflow:hidden;text-overflow:ellipsis}
table.list th{font-size:11px;text-transform:uppercase;color:#5b6475;white-space:nowrap}
table.list td.id{font:11px ui-monospace,monospace;word-break:break-all}
table.list td.dest{white-space:nowrap}
table.list tbody tr{cursor:pointer}table.list tbody tr:hover{background:#eef3ff}
table.list tbody tr.picked{background:#e0e9ff}
tr.failed{background:#fef2f2}tr.failed td:first-child{box-shadow:inset 3px 0 #dc2626}
tr.hook-failing td.hooks{color:#b91c1c}
.reason{display:block;font-size:12px;color:#b91c1c;white-space:normal;overflow-wrap:anywhere}
td.hooks{white-space:normal;font-size:12px;overflow-wrap:anywhere}
.bar{display:inline-block;width:70px;height:9px;background:#e3e6eb;border-radius:5px;
vertical-align:middle;overflow:hidden}
.bar>span{display:block;height:100%;background:#3b82f6}
.bar.done>span{background:#16a34a}
.small{font-size:11px;color:#5b6475;margin-left:4px}
.state-delivered{color:#16a34a}.state-failed{color:#dc2626;font-weight:600}
.state-cancelled{color:#6b7280}
.state-copying,.state-ready{color:#0891b2}.state-submitted,.state-accepted{color:#b45309}
#pager{display:flex;gap:8px;align-items:center;margin:8px 0}
#pager button{font:inherit}
#detail{background:#fff;padding:10px 12px;border:1px solid #e3e6eb;align-self:start;
position:sticky;top:8px;max-height:calc(100vh - 16px);overflow:auto;min-width:0}
#detail h2{font-size:15px;margin:0 0 8px;overflow-wrap:anywhere}
#detail h3{font-size:13px;margin:12px 0 4px}
#detail dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:3px 12px;
margin:0 0 8px}
#detail dt{font-weight:600}#detail dd{margin:0;overflow-wrap:anywhere}
#detail table{border-collapse:collapse;width:100%;font-size:12px;table-layout:fixed}
#detail td button{white-space:nowrap}
#detail td,#detail th{text-align:left;padding:3px 4px;border-bottom:1px solid #eef0f3;
overflow-wrap:anywhere;vertical-align:top}
.actions{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}
button.act{font:inherit;padding:3px 10px;border:1px solid #9aa3b2;background:#fff;
border-radius:4px;cursor:pointer}
button.act:hover{background:#eef3ff}
button.act.danger{border-color:#dc2626;color:#b91c1c}
dialog{border:1px solid #9aa3b2;padding:16px;max-width:460px}
dialog p{margin:0 0 12px;overflow-wrap:anywhere}
dialog .actions{justify-content:flex-end}
#login{max-width:520px;margin:50px auto;background:#fff;padding:20px;border:1px solid #e3e6eb}
#login input{width:100%;padding:6px;margin:8px 0;font:inherit}
#login code{background:#eef1f5;padding:0 3px}
#why{font-weight:600}#why.refused{color:#dc2626}
.error{color:#dc2626}
[hidden]{display:none!important}
"""

BODY = """<header><h1>Export Courier</h1>
<label>state <select id="state"><option value="">all</option></select></label>
<label>provider <select id="provider"><option value="">all</option></select></label>
<label>rows <select id="size"><option value="10">10</option><option value="25">25</option>
<option value="50" selected>50</option><option value="100">100</option></select></label>
<button id="forget" type="button">forget key</button><span id="status"></span></header>
<section id="login" hidden><form id="login-form"><h2>API key</h2>
<p id="why"></p>
<p>The key is one of <code>COURIER_API_KEYS</code>, the keys set where the API runs; or,
on your own machine, the one-time key <code>courier ui</code> prints at start: the link it
prints carries that key and opens this page without this screen.</p>
<p>The key stays in this tab's session storage; it is sent only as the
<code>X-Api-Key</code> header to this API.</p>
<input id="key" type="password" autocomplete="off" placeholder="X-Api-Key">
<button type="submit">Show exports</button></form></section>
<div id="app" hidden><div id="notice" role="status" hidden></div>
<section id="summary"></section>
<div id="layout" class="closed"><section id="listbox">
<table class="list"><colgroup><col style="width:17%"><col style="width:8%">
<col style="width:19%"><col style="width:11%"><col style="width:8%"><col style="width:12%">
<col style="width:16%"><col style="width:9%"></colgroup>
<thead><tr><th>export</th><th>provider</th><th>state</th><th>progress</th><th>size</th>
<th>destination</th><th>webhooks</th><th>created</th></tr></thead>
<tbody id="rows"></tbody></table>
<p id="empty" hidden>No exports match.</p>
<div id="pager"><button id="newer" type="button">&larr; newer</button>
<button id="older" type="button">older &rarr;</button><span id="where"></span></div>
</section><aside id="detail" hidden></aside></div></div>
<dialog id="confirm"><p id="confirm-text"></p>
<div class="actions"><button class="act" type="button" id="confirm-no">Cancel</button>
<button class="act danger" type="button" id="confirm-yes">Confirm</button></div>
</dialog>"""
