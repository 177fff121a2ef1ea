"""WebSocket sessions against a real uvicorn server: first-message authentication, revocation
(expiry, deletion, password and role changes close open sessions with 4401 within the
re-check period), token versions, and the per-user and per-address caps."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import orjson
import pytest
import redis
from gateway_helpers import ADMIN_PASSWORD, OPERATOR_PASSWORD, PLACES, serving
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from api.main import create_app
from api.security import Role, issue_token
from api.users import USERS
from commands.embedded import EmbeddedRedis
from flowcast.settings import Settings

pytestmark = pytest.mark.integration
RECHECK_S = 1.0
SLACK_S = 3.0  # Redis round trip, the close handshake, a loaded machine


@pytest.fixture
def live(settings: Settings, redis_client: redis.Redis) -> Iterator[Gateway]:
    tuned = settings.model_copy(
        update={
            "ws_auth_recheck_s": RECHECK_S,
            "ws_auth_timeout_s": 2.0,
            "ws_max_per_user": 2,
            "ws_max_per_address": 4,
        }
    )
    app = create_app(tuned)
    app.state.gateway.catalog.preset(PLACES)
    with serving(app) as port:
        yield Gateway(port, app.state.gateway)


class Gateway:
    """The served app: HTTP and WebSocket helpers."""

    def __init__(self, port: int, state: object) -> None:
        self.port = port
        self.state = state
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def login(self, username: str, password: str) -> str:
        response = self.http.post("/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def admin(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        token = self.login("admin", ADMIN_PASSWORD)
        return self.http.request(method, path, headers=bearer(token), **kwargs)  # type: ignore[arg-type]

    def put_user(self, username: str, password: str, role: str = "operator") -> None:
        body = {"username": username, "password": password, "role": role}
        assert self.admin("POST", "/admin/users", json=body).status_code == 201

    @contextmanager
    def ws(self, token: str | None = None, query: str = "") -> Iterator[ClientConnection]:
        url = f"ws://127.0.0.1:{self.port}/ws/forecasts{query}"
        if token is not None:
            url += ("&" if "?" in url else "?") + f"token={token}"
        with connect(url, open_timeout=10, close_timeout=5) as ws:
            yield ws


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def first(ws: ClientConnection) -> dict[str, object]:
    return dict(orjson.loads(ws.recv(timeout=10)))


def closed_within(ws: ClientConnection, seconds: float) -> tuple[int, str, float]:
    """Read until the server closes; its code, reason and when (monotonic)."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"session still open after {seconds:.1f} s"
        try:
            ws.recv(timeout=left)
        except TimeoutError:
            continue
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code, closed.rcvd.reason, time.monotonic()


def operator(live: Gateway, name: str = "ops") -> str:
    live.put_user(name, OPERATOR_PASSWORD)
    return live.login(name, OPERATOR_PASSWORD)


def test_dashboard_style_first_message_authentication(live: Gateway) -> None:
    token = operator(live)
    with live.ws(query="?auth=message") as ws:
        ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert first(ws)["type"] == "snapshot"
    with live.ws(query="?auth=message") as ws:
        ws.send(orjson.dumps({"type": "auth", "token": token[:-2] + "xx"}).decode())
        code, reason, _ = closed_within(ws, 5)
        assert (code, reason) == (4401, "invalid token")
    with live.ws(query="?auth=message") as ws:
        ws.send('{"action": "subscribe"}')
        assert closed_within(ws, 5)[0] == 4401
    with live.ws(query="?auth=message") as ws:  # says nothing: closed at the deadline
        assert closed_within(ws, 2.0 + SLACK_S)[:2] == (4401, "authentication timed out")
    with pytest.raises(InvalidStatus) as refused, live.ws():
        pass
    assert refused.value.response.status_code == 401  # no token and no auth=message


def test_an_expired_token_closes_its_session_within_the_recheck_period(
    live: Gateway, redis_client: redis.Redis
) -> None:
    operator(live)
    version = str(orjson.loads(redis_client.hget(USERS, "ops"))["ver"])
    secret = live.state.jwt_secret  # type: ignore[attr-defined]
    token = issue_token(secret, "ops", Role.OPERATOR, expiry_minutes=2 / 60, version=version)
    expires = time.monotonic() + 2.0
    with live.ws(token) as ws:
        assert first(ws)["type"] == "snapshot"
        code, reason, at = closed_within(ws, 2.0 + RECHECK_S + SLACK_S)
    assert (code, reason) == (4401, "token expired")
    assert at - expires <= RECHECK_S + SLACK_S


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(
            lambda g: g.admin("DELETE", "/admin/users/ops"), "account deleted", id="delete"
        ),
        pytest.param(
            lambda g: g.put_user("ops", "a-new-password-123"),
            "token revoked (password or role changed)",
            id="password-reset",
        ),
        pytest.param(
            lambda g: g.put_user("ops", OPERATOR_PASSWORD, role="admin"),
            "token revoked (password or role changed)",
            id="role-change",
        ),
    ],
)
def test_revocation_closes_open_sessions_and_refuses_the_old_token(
    live: Gateway, change: Callable[[Gateway], object], reason: str
) -> None:
    token = operator(live)
    with live.ws(token) as ws, live.ws(query="?auth=message") as by_message:
        by_message.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert first(ws)["type"] == first(by_message)["type"] == "snapshot"
        changed = time.monotonic()
        change(live)
        for session in (ws, by_message):
            code, why, at = closed_within(session, RECHECK_S + SLACK_S)
            assert (code, why) == (4401, reason)
            assert at - changed <= RECHECK_S + SLACK_S
    assert live.http.get("/sensors", headers=bearer(token)).status_code == 401


def test_same_password_again_logs_nobody_out_and_recreation_revives_nothing(
    live: Gateway, settings: Settings, redis_client: redis.Redis
) -> None:
    token = operator(live)
    admin_token = live.login("admin", ADMIN_PASSWORD)
    stored = redis_client.hget(USERS, "admin")
    with live.ws(token) as ws:
        assert first(ws)["type"] == "snapshot"
        live.put_user("ops", OPERATOR_PASSWORD)  # same password, same role
        restarted = create_app(settings)  # a gateway restart re-applies the admin password
        with serving(restarted) as port:
            again = httpx.get(f"http://127.0.0.1:{port}/sensors", headers=bearer(admin_token))
            assert again.status_code == 200
        assert redis_client.hget(USERS, "admin") == stored
        with pytest.raises(TimeoutError):  # two re-checks later, still open and quiet
            ws.recv(timeout=2 * RECHECK_S + 0.5)
    assert live.http.get("/sensors", headers=bearer(token)).status_code == 200
    assert live.admin("DELETE", "/admin/users/ops").status_code == 204
    live.put_user("ops", OPERATOR_PASSWORD)  # the same name and password, re-created
    assert live.http.get("/sensors", headers=bearer(token)).status_code == 401


def test_websockets_are_capped_per_user_and_per_address(live: Gateway) -> None:
    token = operator(live)
    other = operator(live, "ops2")
    with live.ws(token) as a, live.ws(token) as b:
        assert first(a)["type"] == first(b)["type"] == "snapshot"
        with pytest.raises(InvalidStatus) as refused, live.ws(token):
            pass
        assert refused.value.response.status_code == 429
        assert b"for user 'ops'" in refused.value.response.body
        with live.ws(query="?auth=message") as c:  # the cap holds for the dashboard's way too
            c.send(orjson.dumps({"type": "auth", "token": token}).decode())
            assert closed_within(c, 5)[0] == 4429
        with live.ws(other) as d, live.ws(other) as e:  # another user: its own two
            assert first(d)["type"] == first(e)["type"] == "snapshot"
            with pytest.raises(InvalidStatus) as full, live.ws(other):
                pass
            assert full.value.response.status_code == 429  # 4 from this address already
            assert b"from this address" in full.value.response.body
    deadline = time.monotonic() + 10
    while live.state.sessions.tickets:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "closed sessions still counted"
        time.sleep(0.05)
    with live.ws(token) as again:
        assert first(again)["type"] == "snapshot"


def test_redis_failures_in_a_session_are_answered_not_logged_as_tracebacks(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    with EmbeddedRedis(log_dir=tmp_path) as server:
        settings = Settings(
            redis_url=server.url,
            admin_password=ADMIN_PASSWORD,
            jwt_secret="a-test-secret-that-is-long-enough-0123456789",
            ws_auth_recheck_s=RECHECK_S,
        )
        app = create_app(settings)
        with serving(app) as port:
            live = Gateway(port, app.state.gateway)
            token = live.login("admin", ADMIN_PASSWORD)
            with live.ws(token) as ws:
                assert first(ws)["type"] == "snapshot"
                server.kill()
                ws.send('{"action": "subscribe", "sensors": ["4264"]}')
                reply = first(ws)
                assert reply == {
                    "type": "error",
                    "detail": "Redis is unavailable; try again shortly",
                }
                with pytest.raises(TimeoutError):  # the re-check cannot run: the session stays
                    ws.recv(timeout=2 * RECHECK_S + 0.5)
            # a new session: its account is still cached, so it is accepted, then closed when
            # its first snapshot cannot be read
            with live.ws(token) as again:
                code, reason, _ = closed_within(again, 10)
            assert (code, reason) == (1011, "Redis is unavailable; try again shortly")
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
