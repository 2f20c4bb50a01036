"""Export Courier's code: the pipeline on top, its machinery in packages.

1. :mod:`shared.http` takes ``POST /exports``; :mod:`shared.exports` validates and stores it.
2. :mod:`shared.exports` asks the provider (:mod:`shared.providers`) and keeps its task id.
3. :mod:`shared.schedules` makes the same exports from a timer, one per window.
4. :mod:`shared.poller`, on a timer, asks each provider about the tasks that are due.
5. :mod:`shared.runtime.dispatch` hands a ready export to the complete function.
6. :mod:`shared.completion` copies the file into the destination (:mod:`shared.storage`).
7. :mod:`shared.webhooks` tells the subscribers, signed, with retries.
Every step reads and writes tasks through :mod:`shared.state` under leases (:mod:`shared.locks`);
the domain is :mod:`shared.model`, :mod:`shared.errors` and :mod:`shared.config`;
:mod:`shared.bundle` wires one of each per cold start, :mod:`shared.runtime` reads the events.
"""
