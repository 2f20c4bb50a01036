"""``make chaos``: the standing fault-injection run (see ``python -m bench.chaos --help``)."""
