"""`RawRecord`: one record as read, under canonical field names, with where it came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A record before validation.

    ``fields`` maps canonical names (``sensor_id``, ``ts``, ``flow``…) to the values as read
    (strings for CSV, JSON values for JSON). ``position`` is ``file:line`` for CSV and
    ``file:#index`` for a JSON array (0-based). ``payload``/``headers`` keep the original
    record so a dead letter can carry it unchanged.
    """

    fields: dict[str, Any]
    source: str
    position: str
    payload: Any
    headers: Sequence[str] | None = None

    def raw_text(self) -> str:
        """The original record as JSON text (CSV: original header → value)."""
        data: Any = self.payload
        if self.headers is not None and isinstance(self.payload, list):
            data = dict(zip(self.headers, self.payload, strict=False))
            extra = self.payload[len(self.headers) :]
            if extra:
                data["__extra__"] = extra
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return repr(data)
