"""The HTTP API: one Powertools resolver app per bundle.

* :mod:`~shared.http.app` — the app: decode, guard, resolve, answer in every trigger's shape;
* :mod:`~shared.http.auth` — API keys and HMAC request signatures;
* :mod:`~shared.http.routes` — the export routes;
* :mod:`~shared.http.deliveries` — the delivery and endpoint routes;
* :mod:`~shared.http.views` — JSON answers, the error table, request bodies;
* :mod:`~shared.http.paging` — the list routes' ``state``/``limit``/``cursor`` arguments.
"""
