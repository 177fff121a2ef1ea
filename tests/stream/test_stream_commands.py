"""Admin commands in Redis: the worker deletes only the command it ran, never a newer one."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import redis
import redis.asyncio as aioredis

from flowcast import redis_keys
from models.core import ForecastCore
from stream.batch import BatchOutput
from stream.redis_sink import RedisSink

pytestmark = pytest.mark.integration


def queue(client: redis.Redis, sensor: str, command: str, at: str) -> None:
    entry = {"command": command, "by": "admin", "at": at}
    client.hset(redis_keys.COMMANDS, sensor, orjson.dumps(entry))


def test_a_command_queued_while_the_batch_ran_survives_it(
    redis_url: str, redis_client: redis.Redis
) -> None:
    queue(redis_client, "191", "promote", "t1")
    queue(redis_client, "4264", "rollback", "t1")

    async def batch_meanwhile() -> None:
        client = aioredis.from_url(redis_url)
        sink = RedisSink(client, history_hours=24)
        try:
            pending = await sink.load_commands(["191", "4264", "5671"])
            assert {s: c.command["command"] for s, c in pending.items()} == {
                "191": "promote",
                "4264": "rollback",
            }
            queue(redis_client, "191", "rollback", "t2")  # an admin changes their mind meanwhile
            out = BatchOutput()
            out.commands_done.update({s: c.raw for s, c in pending.items()})
            await sink.write(out, ForecastCore())
        finally:
            await client.aclose()

    asyncio.run(batch_meanwhile())
    left = redis_client.hgetall(redis_keys.COMMANDS)
    assert list(left) == [b"191"]  # 4264's command ran and is gone
    assert orjson.loads(left[b"191"])["command"] == "rollback"  # the newer one waits its turn
