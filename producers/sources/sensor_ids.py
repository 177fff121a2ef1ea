"""Sensor ids of defined sources: ``{name}:{slug}``, always a valid `is_sensor_id` (1-64 chars).

The slug is the id column(s) joined with ``-``, accents stripped, and every run of other
characters than letters, digits and ``_.-`` turned into one ``_``. An id that would be longer
than 64 characters keeps the start of its slug and ends with ``.`` and 8 hex digits of a hash
of the whole joined value, so two long ids stay distinct and the same value always gives the
same id.

>>> make_sensor_id("melbourne-scats", ["970", "WARRIGAL_RD N of HIGH STREET_RD"])
'melbourne-scats:970-WARRIGAL_RD_N_of_HIGH_STREET_RD'
>>> make_sensor_id("i94", ["Westbound (ATR 301)"])
'i94:Westbound_ATR_301'
>>> long_id = make_sensor_id("city", ["x" * 80])
>>> len(long_id), long_id[-9:]
(64, '.01adf0f9')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

from flowcast.records import is_sensor_id
from producers.formats.headers import strip_accents

MAX_ID = 64
_OTHER = re.compile(r"[^A-Za-z0-9_.-]+")
_HASH_CHARS = 8


def slugify(text: str) -> str:
    """Letters, digits and ``_.-`` only; other runs become ``_``; no ``_`` at the ends."""
    return _OTHER.sub("_", strip_accents(text.strip())).strip("_")


@lru_cache(maxsize=65_536)
def _sensor_id(name: str, parts: tuple[str, ...]) -> str:
    joined = "-".join(part.strip() for part in parts)
    slug = "-".join(s for s in (slugify(part) for part in parts) if s)
    digest = hashlib.blake2b(joined.encode(), digest_size=_HASH_CHARS // 2).hexdigest()
    if not slug:  # nothing left of the value (e.g. only non-Latin letters): its hash alone
        slug = f"h{digest}"
    sensor_id = f"{name}:{slug}"
    if len(sensor_id) > MAX_ID:
        keep = MAX_ID - len(name) - 1 - 1 - _HASH_CHARS
        sensor_id = f"{name}:{slug[:keep]}.{digest}"
    if not is_sensor_id(sensor_id):  # a definition's name is checked: cannot happen
        raise ValueError(f"cannot make a sensor id of {joined!r}")
    return sensor_id


def make_sensor_id(name: str, parts: Sequence[str]) -> str:
    """The sensor id of the joined id columns ``parts`` in source ``name``."""
    return _sensor_id(name, tuple(parts))
