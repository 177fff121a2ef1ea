"""``flowcast bench pipeline``: broker → worker(s) → Redis, against the core in-process.

In one run, on the same records (contract in DESIGN.md):

1. ``core_records_per_s``: the online core alone, in-process, no I/O;
2. the records are published to a fresh topic; ``raw_consume_records_per_s``: a bare aiokafka
   consumer drains it (the ingestion limit);
3. ``records_per_s``: the worker(s) started on that topic, from the moment every worker owns
   its share of the partitions to the last record processed (start-up and group join are
   excluded, and said so; what was processed before is reported);
4. ``latency_ms``: with the workers running, more records at a steady rate below saturation,
   each stamped with its send time; latency = send → its forecast readable in Redis (the
   pub/sub message is published in the same transaction that makes it readable).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import redis
from rich.console import Console

from commands.bench import data
from commands.bench.core import core_rate
from commands.bench.latency import measure_latency
from commands.embedded import services
from commands.processes import ManagedProcess
from commands.worker_process import assigned_partitions, start_worker, workers_settled
from flowcast import redis_keys
from flowcast.kafka_admin import ensure_topics, unique_topic_settings
from flowcast.settings import Settings
from producers.publisher import publish_all

LATENCY_RECORDS = 3000


async def _drain(bootstrap: str, topic: str, count: int) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen, started = 0, time.perf_counter()
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batches.values())
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def processed(client: redis.Redis) -> int:
    return int(client.hget(redis_keys.STATS, "processed") or 0)


def pipeline_rate(
    client: redis.Redis,
    workers: list[ManagedProcess],
    count: int,
    partitions: int,
    timeout: float = 600,
) -> dict[str, Any]:
    """Throughput once every worker owns its share of the partitions, to the last record.

    Records processed before the group settled (one worker may start alone while the others
    join) are left out of the window, and reported.
    """
    first = workers[0]
    first.wait_for(
        lambda: workers_settled(workers, partitions),
        120,
        f"the {len(workers)} worker(s) to share the {partitions} partitions",
    )
    start_count, started = processed(client), time.perf_counter()
    first.wait_for(lambda: processed(client) >= count, timeout, f"{count} records processed")
    seconds = time.perf_counter() - started
    measured = count - start_count
    return {
        "records_per_s": round(measured / seconds, 1) if seconds > 0 else None,
        "seconds": round(seconds, 3),
        "records_measured": measured,
        "records_before_group_settled": start_count,
        "assignments": [assigned_partitions(w) for w in workers],
    }


def run_pipeline_bench(settings: Settings, *, records: int, json_path: Path, workers: int) -> None:
    """Run the benchmark and write its JSON result."""
    out = Console(stderr=True)
    from commands.up import replay_files
    from producers.bundled import bundled_data_dir

    base = data.real_readings(replay_files(bundled_data_dir()))
    readings = data.take(base, records)
    out.print(f"[bold]bench pipeline[/]: {data.describe(len(base), records)}")
    result: dict[str, Any] = {"records": records, "workers": workers}
    result["core_records_per_s"] = round(core_rate(readings), 1)
    out.print(f"core in-process: {result['core_records_per_s']:,.0f} readings/s")
    with (
        tempfile.TemporaryDirectory(prefix="flowcast-bench-") as tmp,
        services(settings, Path(tmp)) as endpoints,
    ):
        topics = unique_topic_settings(settings, "bench")
        ensure_topics(endpoints.kafka_bootstrap, topics)
        client = redis.Redis.from_url(endpoints.redis_url)
        client.delete(redis_keys.STATS)
        publish_all(
            readings,
            endpoints.kafka_bootstrap,
            readings_topic=topics.readings_topic,
            deadletter_topic=topics.deadletter_topic,
        )
        raw = asyncio.run(_drain(endpoints.kafka_bootstrap, topics.readings_topic, records))
        result["raw_consume_records_per_s"] = round(raw, 1)
        out.print(f"bare consumer: {raw:,.0f} records/s")
        bound = topics.model_copy(
            update={"kafka_bootstrap": endpoints.kafka_bootstrap, "redis_url": endpoints.redis_url}
        )
        procs = [start_worker(bound, Path(tmp), f"worker-{i}") for i in range(workers)]
        try:
            result.update(pipeline_rate(client, procs, records, topics.partitions))
            rate = result["records_per_s"]
            if rate is None or result["records_measured"] < records // 4:
                raise SystemExit(
                    f"only {result['records_measured']:,} of {records:,} records were left once "
                    "the group settled: run again with more --records"
                )
            out.print(
                f"pipeline with {workers} worker(s): {rate:,.0f} readings/s over "
                f"{result['records_measured']:,} records ({result['assignments']})"
            )
            later = data.take(base, records + LATENCY_RECORDS)[records:]
            offered = min(1000.0, rate * 0.3)
            result["latency_ms"], result["latency"] = measure_latency(
                later, topics, endpoints.kafka_bootstrap, endpoints.redis_url, offered
            )
        finally:
            for proc in procs:
                proc.terminate()
    result["ratio_to_core"] = round(result["records_per_s"] / result["core_records_per_s"], 3)
    result["data"] = data.describe(len(base), records)
    result["throughput_window"] = (
        "from the moment every worker owns its partitions to the last record "
        "(start-up and group join excluded)"
    )
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    out.print_json(orjson.dumps(result).decode())
