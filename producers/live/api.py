"""The Explore API v2.1 ``records`` endpoint: its queries and its answers, without I/O.

Queries read one hour at a time (``t_1h >= H and t_1h < H+1h``, ``order_by=t_1h``, ``limit`` ≤
100, ``offset + limit`` ≤ 10,000 as the real API enforces), so that however many records are
newer than the mark, no query ever pages past the API's 10,000 cap: the poller moves forward
hour by hour. An answer must be ``{"total_count": n, "results": [record, …]}``; anything else is
a `SchemaError` with a stable reason.

>>> window_query(datetime(2026, 6, 20, 22, tzinfo=UTC), limit=100, offset=200)["where"]
't_1h >= "2026-06-20T22:00:00+00:00" and t_1h < "2026-06-20T23:00:00+00:00"'
>>> parse_page(b'{"total_count": 1, "results": [{"iu_ac": "5381"}]}').total_count
1
>>> parse_page(b"<html>maintenance</html>")
Traceback (most recent call last):
...
producers.live.api.SchemaError: not_json: the answer is not JSON: '<html>maintenance</html>'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from producers.formats.headers import (
    ARC_STATE,
    FLOW,
    OCCUPANCY,
    SENSOR_ID,
    TRAFFIC_STATE,
    TS,
    canonical_field,
)
from producers.live.errors import FeedError

DATASET = "comptages-routiers-permanents"
RECORDS_PATH = f"/api/explore/v2.1/catalog/datasets/{DATASET}/records"
MAX_LIMIT = 100
MAX_OFFSET_WINDOW = 10_000
"""The API refuses ``offset + limit`` above this."""
HOUR = timedelta(hours=1)

REQUIRED_FIELDS: dict[str, str] = {
    SENSOR_ID: "iu_ac",
    TS: "t_1h",
    FLOW: "q",
    OCCUPANCY: "k",
    TRAFFIC_STATE: "etat_trafic",
    ARC_STATE: "etat_barre",
}
"""Canonical field → its API name. A page where one is absent from every record is a schema
change (a renamed field would otherwise turn every flow into a silent ``None``)."""

SCHEMA_REASONS = (
    "not_json",
    "not_an_object",
    "results_missing",
    "total_count_missing",
    "records_not_objects",
    "missing_field",
    "where_ignored",
)
"""Every reason an answer is rejected as a whole (stable names, metric labels)."""


class SchemaError(FeedError):
    """The answer does not follow the API v2.1 contract: nothing of it is published."""


@dataclass(frozen=True, slots=True)
class Page:
    """One answer of the records endpoint."""

    total_count: int
    results: list[Any]


def records_url(base: str) -> str:
    """The records endpoint under ``base`` (``https://opendata.paris.fr``).

    >>> records_url("https://opendata.paris.fr/")
    'https://opendata.paris.fr/api/explore/v2.1/catalog/datasets/comptages-routiers-permanents/records'
    """
    return base.rstrip("/") + RECORDS_PATH


def hour_floor(ts: datetime) -> datetime:
    """The start of the UTC hour holding ``ts``."""
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def literal(ts: datetime) -> str:
    """A timestamp as an ODSQL string literal, ISO 8601 with its offset."""
    return f'"{ts.astimezone(UTC).isoformat()}"'


def window_query(hour: datetime, *, limit: int, offset: int) -> dict[str, str | int]:
    """The query of one page of the records of ``hour`` (``[hour, hour + 1 h)``)."""
    check_paging(limit, offset)
    where = f"t_1h >= {literal(hour)} and t_1h < {literal(hour + HOUR)}"
    return {"where": where, "order_by": "t_1h", "limit": limit, "offset": offset}


def discovery_query(start: datetime) -> dict[str, str | int]:
    """The query of the first record at or after ``start``: where the next hour begins."""
    return {"where": f"t_1h >= {literal(start)}", "order_by": "t_1h", "limit": 1, "offset": 0}


def check_paging(limit: int, offset: int) -> None:
    """``ValueError`` for a page the API would refuse (limit ≤ 100, offset + limit ≤ 10,000).

    >>> check_paging(100, 9_900)
    >>> check_paging(100, 9_901)
    Traceback (most recent call last):
    ...
    ValueError: offset 9901 + limit 100 > 10000: the API refuses to page that far
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit {limit} outside 1..{MAX_LIMIT}")
    if offset < 0 or offset + limit > MAX_OFFSET_WINDOW:
        raise ValueError(
            f"offset {offset} + limit {limit} > {MAX_OFFSET_WINDOW}: the API refuses to page "
            "that far"
        )


def parse_page(body: bytes) -> Page:
    """The page in ``body``, or `SchemaError` if it is not ``{"total_count", "results"}``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SchemaError("not_json", f"the answer is not JSON: {_excerpt(body)}") from None
    if not isinstance(data, dict):
        raise SchemaError("not_an_object", f"the answer is a {type(data).__name__}, not an object")
    results = data.get("results")
    if not isinstance(results, list):
        keys = ", ".join(sorted(map(str, data))[:8]) or "none"
        raise SchemaError("results_missing", f"no 'results' list in the answer (keys: {keys})")
    total = data.get("total_count")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise SchemaError("total_count_missing", f"'total_count' is {total!r}, not a count")
    return Page(total_count=total, results=results)


def check_schema(results: Sequence[Any]) -> None:
    """`SchemaError` if the records of a page lack a field every record should carry.

    Single records missing a field are left to the normaliser (dead letters); a field absent
    from *every* record, or no record being an object, means the schema changed.
    """
    objects = [record for record in results if isinstance(record, dict)]
    if not results:
        return
    if not objects:
        raise SchemaError("records_not_objects", f"none of the {len(results)} records is an object")
    present = {canonical_field(str(key)) for record in objects for key in record}
    missing = [api for canonical, api in REQUIRED_FIELDS.items() if canonical not in present]
    if missing:
        seen = ", ".join(sorted({str(k) for record in objects for k in record})[:12])
        raise SchemaError(
            "missing_field",
            f"field(s) {', '.join(missing)} absent from all {len(objects)} records of the page "
            f"(renamed or dropped?); fields present: {seen}",
        )


def _excerpt(body: bytes, size: int = 60) -> str:
    text = body[:size].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > size else ""))
