"""``flowcast worker``: run one stream worker until stopped."""

from __future__ import annotations

import logging
import sys

from flowcast.settings import Settings


def run_worker(settings: Settings, *, track: bool = True) -> None:
    """Start a Faust worker on the configured broker and Redis (both must be set).

    With ``track`` the worker logs to MLflow from a background thread (`WorkerTracker`).
    """
    if not settings.kafka_bootstrap or not settings.redis_url:
        sys.exit(
            "flowcast worker needs FLOWCAST_KAFKA_BOOTSTRAP and FLOWCAST_REDIS_URL "
            "(`flowcast up` starts the embedded services and sets them for its workers)"
        )
    import faust
    from prometheus_client import start_http_server

    from flowcast import redaction
    from flowcast.kafka_admin import ensure_topics
    from flowcast.secret_strength import require_production_secrets
    from models.tracking import WorkerTracker
    from stream.app import create_worker_app
    from stream.runtime import BatchRuntime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for secret in settings.secrets():
        redaction.register_secret(secret)
    redaction.install()
    try:
        require_production_secrets(settings, kafka=True)
    except ValueError as exc:
        sys.exit(str(exc))
    ensure_topics(settings.kafka_bootstrap, settings)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    app = create_worker_app(settings, settings.kafka_bootstrap, settings.redis_url)
    runtime: BatchRuntime = app.flowcast_runtime  # type: ignore[attr-defined]
    runtime.tracker = WorkerTracker.for_worker(settings, runtime.core, enabled=track)
    runtime.tracker.start()
    try:
        faust.Worker(app, loglevel="INFO", redirect_stdouts=False).execute_from_commandline()
    finally:
        runtime.tracker.close()
