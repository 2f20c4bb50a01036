"""Signed requests seen (``shared.http.replay``) on every state backend: what one container
recorded, every other refuses; concurrent takers of one pair, exactly one wins."""

from __future__ import annotations

import threading
import time

import pytest

from shared.errors import AuthError
from shared.http import replay
from shared.state import open_store


def test_a_pair_is_taken_once_by_any_container(store_url: str) -> None:
    one, two = open_store(store_url), open_store(store_url)
    try:
        stamp = int(time.time())
        replay.take_once(one, stamp, "v2,AAAA")
        with pytest.raises(AuthError, match="already received"):
            replay.take_once(two, stamp, "v2,AAAA")  # another container, the same pair
        replay.take_once(two, stamp, "v2,BBBB")  # another signature, the same second
        replay.take_once(one, stamp + 1, "v2,AAAA")  # the same signature, another second
        with pytest.raises(AuthError, match="already received"):
            replay.take_once(one, stamp, "v2,BBBB")
        # a slot taken by a later second starts afresh, and the earlier second is refused
        later = stamp + replay.SLOTS
        replay.take_once(two, later, "v2,AAAA")
        with pytest.raises(AuthError, match="too far from now"):
            replay.take_once(one, stamp, "v2,CCCC")
        slot = one.get_record(replay.KIND, str(stamp % replay.SLOTS))
        assert slot is not None and slot.data["timestamp"] == later
        assert len(slot.data["seen"]) == 1  # the earlier second's signatures are gone
    finally:
        one.close()
        two.close()


def test_concurrent_takers_of_one_pair_exactly_one_wins(store_url: str) -> None:
    stamp = int(time.time())
    stores = [open_store(store_url) for _ in range(6)]
    outcomes: list[str] = []
    start = threading.Barrier(len(stores))

    def take(store: object, signature: str) -> None:
        start.wait()
        try:
            replay.take_once(store, stamp, signature)  # type: ignore[arg-type]
            outcomes.append(f"taken {signature}")
        except AuthError:
            outcomes.append(f"refused {signature}")

    try:
        threads = [threading.Thread(target=take, args=(s, "v2,SAME")) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["refused v2,SAME"] * 5 + ["taken v2,SAME"]
        # different signatures in the same second: every one is taken (compare-and-set)
        outcomes.clear()
        start = threading.Barrier(len(stores))
        threads = [threading.Thread(target=take, args=(s, f"v2,{i}"))
                   for i, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == sorted(f"taken v2,{i}" for i in range(len(stores)))
    finally:
        for s in stores:
            s.close()
