"""A login flood of random usernames, against the real gateway process: refused before hashing
beyond the per-address limits, while a legitimate login from elsewhere is still served.

The latencies go to ``flowcast bench login`` (its result is what this test reads); the test
asserts correctness only."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import redis

from commands.bench.login import REFERENCE_LOGINS, run_login_bench
from flowcast.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DEFAULTS = Settings()


def test_a_legitimate_login_is_served_during_a_flood(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "login.json"
    run_login_bench(Settings(redis_url=redis_url), seconds=6, connections=24, json_path=path)
    result = orjson.loads(path.read_bytes())
    assert result["legit_refused"] == 0
    assert result["legit_login_ms"]["n"] >= 5
    outcomes = result["flood"]["gateway_outcomes"]
    assert outcomes["ok"] == REFERENCE_LOGINS + result["legit_login_ms"]["n"]
    # the flood's address got its failed attempts hashed, then only refusals before hashing
    hashed_at_most = DEFAULTS.login_failures_per_address + 2  # + the attempts in flight
    assert outcomes["failed"] <= hashed_at_most
    # every flood attempt was hashed and failed (401) or refused before hashing (429)
    by_status = result["flood"]["by_status"]
    assert by_status == {"401": outcomes["failed"], "429": outcomes["limited"]}
    assert result["flood"]["attempts"] == outcomes["failed"] + outcomes["limited"]
    assert outcomes["limited"] > outcomes["failed"]
