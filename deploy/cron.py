"""SCF timer cron expressions, checked before any call.

SCF's timer-trigger page (Tencent doc 583/9708) documents two syntaxes, kept for compatibility
with older timers: the recommended one with 7 fields (second minute hour day month weekday
year) and the older one with 5 (minute hour day month weekday). The UpdateTrigger page
(583/96828) updates either form. Fields take ``*``, lists ``,``, ranges ``-``, steps ``/``;
months and weekdays also take their English three-letter names; weekday 0 is Sunday.
Anything else is refused with the field named.
"""

from __future__ import annotations

SECONDS = ("second", 0, 59)
FIELDS_5 = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12),
            ("weekday", 0, 6))
FIELDS_7 = (SECONDS, *FIELDS_5, ("year", 1970, 2099))
NAMES = {
    "month": ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    "weekday": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
}


def cron_problems(expression: str) -> list[str]:
    """Problems with an SCF cron expression; an empty list when SCF takes it."""
    fields = expression.split()
    layout = {7: FIELDS_7, 5: FIELDS_5}.get(len(fields))
    if layout is None:
        return [f"{expression!r}: an SCF cron has 7 fields (second minute hour day month "
                f"weekday year) or 5 (minute hour day month weekday), this one has "
                f"{len(fields)}"]
    problems = []
    for text, (label, low, high) in zip(fields, layout):
        for part in text.split(","):
            base, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                problems.append(f"{label}: bad step in {part!r}")
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2:
                problems.append(f"{label}: bad range {part!r}")
                continue
            for bound in bounds:
                value = _value(label, bound)
                if value is None or not low <= value <= high:
                    problems.append(f"{label}: {bound!r} is outside {low}-{high}")
    return problems


def _value(label: str, text: str) -> int | None:
    if text.isdigit():
        return int(text)
    names = NAMES.get(label)
    if names and text.upper() in names:
        return names.index(text.upper()) + (1 if label == "month" else 0)
    return None
