"""``GET /ui``: the status page, one self-contained HTML document (no CDN, no build step).

The page itself holds no data and no secret, so it is served without credentials; everything
it shows it fetches from the API (``GET /summary``, ``GET /exports``, ``GET /exports/<id>``,
``GET /exports/<id>/deliveries``) with the API key, which it keeps in the tab's session storage
only. At the top, the summary: exports by state and by provider, the oldest waiting export,
failing webhook endpoints, and the last 24 hours as a small chart. Below, the exports newest
first, a page at a time, failed ones and failing deliveries highlighted with their reasons;
the detail of the picked export beside the list, with its parts, files and manifest, its
webhook deliveries, and the actions (retry, check now, cancel, resend, recover), each asked
for confirmation first. A strict Content-Security-Policy allows only its own inline script and
requests to its own origin.

Its style and body are in :mod:`shared.http.ui_style`, its script in
:mod:`shared.http.ui_script` and :mod:`shared.http.ui_panels`.

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

from shared.http.ui_panels import PANELS
from shared.http.ui_script import SCRIPT
from shared.http.ui_style import BODY, STYLE
from shared.providers import REGISTRY

PATH = "/ui"

@functools.lru_cache(maxsize=1)
def page() -> tuple[str, str]:
    """The document and its Content-Security-Policy (built on first request)."""
    # the provider filter offers every registered provider
    script = (SCRIPT + PANELS).replace("__PROVIDERS__", json.dumps(sorted(REGISTRY)))
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
