"""A rate bucket kept in the state store: call slots handed out at most ``rate`` a second.

The bucket holds the time its next slot is free (``tat``, epoch seconds) and its rate. A draw
of ``n`` slots takes ``tat, tat + 1/rate, …`` (never earlier than now), so the slots of every
drawer together are spaced ``1/rate`` apart: no one-second window holds more than ``rate``
of them (+1 at its edge). A draw takes only slots that start by the caller's ``latest``, so
nobody is promised a call after its deadline. On a vendor throttle the rate is cut to
``factor`` of itself (at least ``floor``) and regained ``recover_per_s`` a second, up to
``ceiling``: additive increase, multiplicative decrease.
"""

from __future__ import annotations

from dataclasses import dataclass

BUCKET = "bucket"  # record kind


@dataclass(frozen=True)
class BucketPolicy:
    ceiling: float = 18.0  # slots a second at most: a little below the vendors' 20
    floor: float = 1.0  # the rate a throttle never cuts below
    factor: float = 0.5  # a throttle multiplies the rate by this
    recover_per_s: float = 1.0  # the rate regained per second after a cut


@dataclass
class Bucket:
    tat: float  # when the next slot is free (epoch seconds)
    rate: float  # slots a second right after ``rate_at``
    rate_at: float

    @classmethod
    def fresh(cls, now: float, policy: BucketPolicy) -> Bucket:
        return cls(tat=now, rate=policy.ceiling, rate_at=now)

    @classmethod
    def from_data(cls, data: dict[str, float], now: float, policy: BucketPolicy) -> Bucket:
        try:
            return cls(float(data["tat"]), float(data["rate"]), float(data["rate_at"]))
        except (KeyError, TypeError, ValueError):
            return cls.fresh(now, policy)

    def data(self) -> dict[str, float]:
        return {"tat": self.tat, "rate": self.rate, "rate_at": self.rate_at}

    def current_rate(self, now: float, policy: BucketPolicy) -> float:
        regained = policy.recover_per_s * max(0.0, now - self.rate_at)
        return max(policy.floor, min(policy.ceiling, self.rate + regained))

    def take(self, now: float, want: int, latest: float, policy: BucketPolicy) -> list[float]:
        """Up to ``want`` slot times, none later than ``latest``; moves ``tat`` past them."""
        rate = self.current_rate(now, policy)
        start = max(self.tat, now)
        slots: list[float] = []
        while len(slots) < want and start + len(slots) / rate <= latest:
            slots.append(start + len(slots) / rate)
        if slots:
            self.tat = slots[-1] + 1 / rate
        return slots

    def slow_down(self, now: float, policy: BucketPolicy) -> None:
        """A throttle: cut the rate, and leave a gap of one slot at the new rate."""
        self.rate = max(policy.floor, self.current_rate(now, policy) * policy.factor)
        self.rate_at = now
        self.tat = max(self.tat, now + 1 / self.rate)

    def hold(self, until: float) -> float:
        """No slot before ``until`` (a wait the vendor named); returns the next slot's time."""
        self.tat = max(self.tat, until)
        return self.tat
