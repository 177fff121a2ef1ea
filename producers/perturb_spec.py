"""Parse ``--perturb`` specs of ``flowcast replay`` / ``flowcast evaluate`` (pure).

A spec is ``KIND:key=value:key=value…`` with ``sensors=ID,ID`` and ``from=DATE`` required;
``factor=F`` (scale), ``hours=N`` (freeze/zero/scale: how long; shift: by how much).

>>> p = parse_perturbation("scale:sensors=4264,5671:from=2022-06-01:factor=0.5")
>>> p.kind, sorted(p.sensors), p.start.isoformat(), p.factor, p.hours
('scale', ['4264', '5671'], '2022-06-01T00:00:00+00:00', 0.5, None)
>>> parse_perturbation("shift:sensors=191:from=2022-06-01:hours=2").hours
2
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from producers.perturb import KINDS, Perturbation

_KEYS = {"sensors", "from", "factor", "hours"}


def _date(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _fields(spec: str) -> tuple[str, dict[str, str]]:
    kind, *parts = spec.strip().split(":")
    fields: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in _KEYS:
            if fields and "from" in fields and not sep:  # a time "…T08:00" split on ':'
                fields["from"] += ":" + part
                continue
            raise ValueError(f"bad perturbation field {part!r} in {spec!r}")
        fields[key] = value
    return kind, fields


def parse_perturbation(spec: str) -> Perturbation:
    """One spec → `Perturbation`; ``ValueError`` says what is wrong."""
    kind, fields = _fields(spec)
    if kind not in KINDS:
        raise ValueError(f"unknown perturbation {kind!r} (one of {', '.join(KINDS)})")
    sensors = frozenset(s.strip() for s in fields.get("sensors", "").split(",") if s.strip())
    if not sensors or "from" not in fields:
        raise ValueError(f"perturbation {spec!r} needs sensors=… and from=…")
    factor = float(fields.get("factor", "1"))
    hours = int(fields["hours"]) if "hours" in fields else None
    if factor < 0 or (hours is not None and hours <= 0):
        raise ValueError(f"perturbation {spec!r}: factor must be ≥ 0 and hours > 0")
    if kind == "shift" and hours is None:
        raise ValueError("shift needs hours=N (how far the daily profile moves)")
    return Perturbation(kind, sensors, _date(fields["from"]), factor=factor, hours=hours)


def parse_perturbations(specs: Iterable[str] | None) -> list[Perturbation]:
    """Every spec parsed, in order (empty when none)."""
    return [parse_perturbation(spec) for spec in specs or ()]
