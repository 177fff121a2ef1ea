"""A local stand-in for the Explore API v2.1 ``records`` endpoint, on a real loopback socket.

It implements the query semantics ``flowcast live`` relies on, as the real API does:
``where`` on ``t_1h`` (clauses ``t_1h >|>=|<|<= "<ISO 8601 with offset>"`` joined by ``and``),
``order_by=t_1h`` (ties in publication order), ``limit`` (default 10, at most 100) and
``offset`` (``offset + limit`` ≤ 10,000, else a 400 like the API's), and answers
``{"total_count": n, "results": [...]}``. Anything else is refused with a 400.

The test controls what is published (`publish`: records appear late and in pieces, as on
the real portal) and injects faults (`fail`: a status with headers, a delay, a body), and can
hold a request (`hold`) while it does something (a SIGKILL). Every request is logged with the
time it arrived and the status it got.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from producers.live.api import MAX_LIMIT, MAX_OFFSET_WINDOW, RECORDS_PATH

CLAUSE = re.compile(r'^\s*t_1h\s*(>=|<=|>|<)\s*"([^"]+)"\s*$')
DEFAULT_LIMIT = 10
Query = dict[str, str]


@dataclass(frozen=True)
class Served:
    """One published record: its ``t_1h`` as the server indexes it, and its JSON as served."""

    at: datetime
    payload: Any


def served(payload: dict[str, Any]) -> Served:
    """A record indexed by its own ``t_1h``."""
    return Served(datetime.fromisoformat(payload["t_1h"]), payload)


@dataclass
class Fault:
    """Answer the next ``times`` matching requests with ``status`` (and ``headers``/``body``),
    or, with ``delay``, answer them normally after that many seconds."""

    times: int
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0
    when: Callable[[Query], bool] = lambda query: True


@dataclass(frozen=True)
class Logged:
    """One request: when it arrived (monotonic and wall clock), its query, its status."""

    at: float
    wall: float
    query: Query
    status: int
    total: int | None = None  # total_count of a 200 answer

    @property
    def found_nothing_new(self) -> bool:
        """A look for the next hour (limit 1) that found none: the poll is idle."""
        return self.query.get("limit") == "1" and self.total == 0


class BadQueryError(ValueError):
    """A query the real API would refuse (400)."""


def _bounds(where: str) -> tuple[float, float]:
    """The ``where`` clauses as one interval of instants ``(low, high)``, both exclusive
    (``>=`` and ``<=`` are widened by a microsecond)."""
    low, high = float("-inf"), float("inf")
    for part in re.split(r"\s+and\s+", where.strip(), flags=re.IGNORECASE):
        match = CLAUSE.match(part)
        if match is None:
            raise BadQueryError(f"ODSQL: cannot parse the where clause {part!r}")
        value = datetime.fromisoformat(match[2])
        if value.tzinfo is None:
            raise BadQueryError(f"ODSQL: {match[2]!r} has no offset")
        instant = value.timestamp()
        if match[1] in {">", ">="}:
            low = max(low, instant - (1e-6 if match[1] == ">=" else 0.0))
        else:
            high = min(high, instant + (1e-6 if match[1] == "<=" else 0.0))
    return low, high


def _int(query: Query, name: str, default: int) -> int:
    try:
        return int(query.get(name, default))
    except ValueError:
        raise BadQueryError(f"{name} must be an integer") from None


class RecordsApi:
    """The fake API's state: published records, faults, the request log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Served] = []
        self._sorted: tuple[list[Served], list[float]] | None = None
        self._faults: list[Fault] = []
        self.log: list[Logged] = []
        self.refused: list[str] = []
        self.hold: Callable[[Query], None] | None = None

    def publish(self, records: Iterable[Served]) -> None:
        """Make records visible (appended: ties keep publication order)."""
        with self._lock:
            self._records.extend(records)
            self._sorted = None

    def _ordered(self) -> tuple[list[Served], list[float]]:
        """Records in ``t_1h`` order (ties in publication order) and their instants, sorted
        once per change."""
        if self._sorted is None:
            ordered = sorted(self._records, key=lambda r: r.at)
            self._sorted = (ordered, [r.at.timestamp() for r in ordered])
        return self._sorted

    def fail(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def answer(self, query: Query) -> tuple[int, dict[str, str], bytes, float, int | None]:
        """Status, headers, body, delay and total_count (of a 200) for one request."""
        if self.hold is not None:
            self.hold(query)
        with self._lock:
            fault = next((f for f in self._faults if f.times > 0 and f.when(query)), None)
            if fault is not None:
                fault.times -= 1
                if fault.status != 200 or fault.body is not None:
                    body = fault.body if fault.body is not None else b'{"error": "injected"}'
                    return fault.status, fault.headers, body, fault.delay, None
            try:
                page = self._select(query)
            except BadQueryError as exc:
                self.refused.append(str(exc))
                error = {"error_code": "InvalidRESTParameterError", "message": str(exc)}
                return 400, {}, orjson.dumps(error), 0.0, None
        delay = fault.delay if fault else 0.0
        return 200, {}, orjson.dumps(page), delay, page["total_count"]

    def _select(self, query: Query) -> dict[str, Any]:
        order = query.get("order_by", "t_1h")
        if order != "t_1h":
            raise BadQueryError(f"order_by {order!r} is not supported by this stand-in")
        limit, offset = _int(query, "limit", DEFAULT_LIMIT), _int(query, "offset", 0)
        if not 0 <= limit <= MAX_LIMIT:
            raise BadQueryError(
                f"Invalid value for limit API parameter: {limit} was found but "
                f"-1 <= limit <= {MAX_LIMIT} is expected."
            )
        if offset < 0 or offset + limit > MAX_OFFSET_WINDOW:
            raise BadQueryError(
                f"Invalid value for offset API parameter: offset + limit "
                f"({offset + limit}) must be at most {MAX_OFFSET_WINDOW}."
            )
        low, high = _bounds(query["where"]) if query.get("where") else (-1e300, 1e300)
        ordered, instants = self._ordered()
        chosen = ordered[bisect.bisect_right(instants, low) : bisect.bisect_left(instants, high)]
        return {
            "total_count": len(chosen),
            "results": [r.payload for r in chosen[offset : offset + limit]],
        }

    def requests(self, status: int | None = None) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if status is None or r.status == status]


def _handler(api: RecordsApi, stopping: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()  # headers and body are two writes: no Nagle delay between them
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            arrived, wall = time.monotonic(), time.time()
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if parts.path != RECORDS_PATH:
                status, headers, body, delay, total = 404, {}, b'{"error": "not found"}', 0.0, None
            else:
                status, headers, body, delay, total = api.answer(query)
            with api._lock:
                api.log.append(Logged(arrived, wall, query, status, total))
            if delay and stopping.wait(delay):
                return
            with contextlib.suppress(OSError):  # the client gave up (a timeout) or was killed
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is ``api.log``."""

    return Handler


@contextmanager
def serving(api: RecordsApi) -> Iterator[str]:
    """Serve ``api`` on a free loopback port in a thread; yields the base URL."""
    stopping = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api, stopping))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-records-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
