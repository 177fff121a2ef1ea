"""``flowcast live``: the command around `producers.live.loop` (settings, broker, signals).

Metrics on ``live_metrics_port``, the JSON status in Redis when ``FLOWCAST_REDIS_URL`` is set.
Ctrl-C or SIGTERM stops after the current page. Exit codes: 0 stopped, 1 broker failure,
2 bad arguments.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType

from kafka.errors import KafkaError
from rich.console import Console

from commands.replay import create_topics, kafka_bootstrap
from flowcast import redaction
from flowcast.kafka_auth import client_kwargs
from flowcast.secret_strength import require_production_secrets
from flowcast.settings import Settings
from producers.live.api import hour_floor, records_url
from producers.live.http_client import ApiClient
from producers.live.kafka_state import KafkaState
from producers.live.loop import LiveIO, LiveLoop, LiveOptions, check_url, feed_source
from producers.live.mark import FeedMark
from producers.live.metrics import FeedMetrics
from producers.live.pager import Pager
from producers.live.status import FeedStatus, RedisStatusWriter
from producers.publisher import Publisher, PublishError, make_kafka_producer

log = logging.getLogger("flowcast.live")
EXIT_OK = 0
EXIT_DELIVERY = 1
EXIT_INPUT = 2


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (the loop ends after the current page); a second
    Ctrl-C interrupts at once."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("%s: stopping after the current page", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start_metrics_server(settings: Settings, metrics: FeedMetrics) -> None:
    if settings.live_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(
            settings.live_metrics_port, addr=settings.live_metrics_host, registry=metrics.registry
        )
        log.info(
            "metrics on http://%s:%d/metrics",
            settings.live_metrics_host,
            settings.live_metrics_port,
        )


def default_since(settings: Settings, now: datetime | None = None) -> datetime:
    """Without ``--since`` a new feed starts ``lookback`` hours before the current hour."""
    current = hour_floor(now or datetime.now(UTC))
    return current - timedelta(hours=settings.live_lookback_hours)


def run_live(settings: Settings, options: LiveOptions) -> int:
    """Entry point of ``flowcast live``; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("httpx", "kafka"):  # a line per request or connection is noise here
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for secret in settings.secrets():
        redaction.register_secret(secret)
    redaction.install()
    try:
        require_production_secrets(settings, kafka=True)
    except ValueError as exc:
        log.error("%s", exc)
        return EXIT_INPUT
    try:
        base = check_url(options.url)
    except ValueError as exc:
        log.error("%s", exc)
        return EXIT_INPUT
    stop = threading.Event()
    try:
        with stop_on_signals(stop), ExitStack() as stack:
            return _run(settings, options, base, stop, stack)
    except PublishError as exc:
        log.error("live feed stopped: %s", exc)
        return EXIT_DELIVERY


def _run(
    settings: Settings, options: LiveOptions, base: str, stop: threading.Event, stack: ExitStack
) -> int:
    console = Console(stderr=True)
    bootstrap = stack.enter_context(kafka_bootstrap(settings, console))
    create_topics(settings, bootstrap, console)
    metrics = FeedMetrics()
    _start_metrics_server(settings, metrics)
    source, feed = feed_source(base), records_url(base)
    if not settings.live_contact_url:
        log.info("set FLOWCAST_LIVE_CONTACT_URL so the API's operator can reach you")
    count_failure = metrics.failed_calls.labels
    client = stack.enter_context(
        closing(
            ApiClient.from_settings(
                base, settings, stop=stop, on_failure=lambda r: count_failure(r).inc()
            )
        )
    )
    publisher = stack.enter_context(
        Publisher(
            bootstrap,
            readings_topic=settings.readings_topic,
            deadletter_topic=settings.deadletter_topic,
            factory=functools.partial(make_kafka_producer, security=client_kwargs(settings)),
            notify=log.warning,
        )
    )
    since = hour_floor(options.since) if options.since else default_since(settings)
    fresh = FeedMark.fresh(feed, since, {}, settings.live_lookback_hours)
    try:
        state = stack.enter_context(closing(KafkaState(bootstrap, settings)))
        mark, found = state.open(fresh, source)
    except (KafkaError, TimeoutError) as exc:
        raise PublishError(f"cannot read the live feed's mark from {bootstrap}: {exc!r}") from exc
    _log_start(mark, fresh, found, options)
    if mark.newest is not None:
        metrics.newest_hour.set(mark.newest.timestamp())
    writer = (
        stack.enter_context(closing(RedisStatusWriter(settings.redis_url)))
        if settings.redis_url
        else None
    )
    io = LiveIO(client, publisher, state, metrics, stop)
    pager = Pager(mark, io, source=source, page_size=settings.live_page_size)
    status = FeedStatus(feed, every_s=options.every_s)
    loop = LiveLoop(
        pager,
        every_s=options.every_s,
        stop=stop,
        metrics=metrics,
        status=status,
        status_writer=writer,
    )
    loop.run()
    log.info("stopped; the mark is saved (a restart resumes there)")
    return EXIT_OK


def _log_start(mark: FeedMark, fresh: FeedMark, found: int, options: LiveOptions) -> None:
    if mark is fresh:
        log.info(
            "polling %s every %g s, from %s (new feed)",
            mark.feed,
            options.every_s,
            mark.since.isoformat(),
        )
        return
    newest = mark.newest.isoformat() if mark.newest else "none yet"
    log.info(
        "polling %s every %g s, resuming: newest data hour %s, %d hours kept, %d records "
        "already published found in the topics",
        mark.feed,
        options.every_s,
        newest,
        len(mark.hours),
        found,
    )
    if options.since is not None and hour_floor(options.since) != mark.since:
        log.info("--since ignored: this feed's saved mark decides where it resumes")
