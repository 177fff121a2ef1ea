"""``flowcast live``: poll the City of Paris Explore API v2.1 and publish new hourly records.

The folder follows the data path, pure logic apart from its adapters:

- `producers.live.api` — the API's query and answer (URL, ``where`` windows, page checks); pure.
- `producers.live.mark` — the high-water mark: which hours were read, which records of them
  were published (dedupe by sensor and hour), where a restart resumes; pure.
- `producers.live.pager` — one poll: hour windows in ``t_1h`` order, pages, normalise,
  publish, then commit the mark; pure logic over the callables it is given.
- `producers.live.http` — the httpx adapter: timeouts, retries with backoff and jitter,
  ``Retry-After``, ``User-Agent``.
- `producers.live.kafka_state` — the mark kept in Kafka, and the rebuild of what was already
  published from the readings and dead-letter topics.
- `producers.live.metrics` / `producers.live.status` — Prometheus instruments and the small JSON
  status written to Redis for the gateway.
- `producers.live.loop` — the loop: poll, record metrics and status, wait; a failed poll never
  ends it. The command around it (settings, broker, signals) is ``commands.live``.
"""
