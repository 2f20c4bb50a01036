"""Ownership claims: one export per vendor object, whoever asks first."""

from __future__ import annotations

from shared import owners
from shared.providers.base import adoption_guard, owned_elsewhere
from shared.state import open_store


def test_the_first_claim_wins_and_a_claim_is_idempotent() -> None:
    store = open_store("sqlite://:memory:")
    assert owners.claim(store, "cls", "x-1", "exp_a")
    assert owners.claim(store, "cls", "x-1", "exp_a")  # again, same export: still its own
    assert not owners.claim(store, "cls", "x-1", "exp_b")
    assert owners.owner_of(store, "cls", "x-1") == "exp_a"
    assert owners.claim(store, "tcss", "x-1", "exp_b")  # ids are per provider


def test_the_guard_sees_objects_other_exports_own() -> None:
    store = open_store("sqlite://:memory:")
    owners.claim(store, "dlc", "t-1", "exp_a")
    assert not owned_elsewhere("t-1")  # no guard set: nothing counts as owned
    with adoption_guard(owners.owned_elsewhere(store, "dlc", "exp_b")):
        assert owned_elsewhere("t-1") and not owned_elsewhere("t-2")
    with adoption_guard(owners.owned_elsewhere(store, "dlc", "exp_a")):
        assert not owned_elsewhere("t-1")  # its own object
