"""What the platforms hand a function, turned into what the pipeline needs.

* :mod:`~shared.runtime.events` — HTTP and timer trigger events of SCF and Lambda, reduced to
  one request shape, and the complete function's async payload;
* :mod:`~shared.runtime.budget` — the invocation's time budget from its context;
* :mod:`~shared.runtime.dispatch` — how poll hands a ready export to complete;
* :mod:`~shared.runtime.logs` — structured logs with secrets scrubbed.
"""
