"""The per-app bundle of collaborators the routes use (``app.state.gateway``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from api.broadcaster import Broadcaster
from api.catalog import Catalog
from api.hashing import Hasher
from api.metrics import GatewayMetrics
from api.ratelimit import LoginGuard
from api.replay import ReplayManager
from api.security import TokenCache
from api.sessions import SessionRegistry
from api.store import Store
from api.users import UserStore
from flowcast.settings import Settings


@dataclass
class Gateway:
    """Everything one gateway process shares between requests."""

    settings: Settings
    redis: Redis
    jwt_secret: str
    metrics: GatewayMetrics
    catalog: Catalog
    store: Store = field(init=False)
    users: UserStore = field(init=False)
    broadcaster: Broadcaster = field(init=False)
    tokens: TokenCache = field(init=False)
    login_guard: LoginGuard = field(init=False)
    sessions: SessionRegistry = field(init=False)
    ws_ping_interval: float = 20.0
    ws_queue_size: int = 256
    replay: ReplayManager = field(default_factory=ReplayManager)

    def __post_init__(self) -> None:
        settings = self.settings
        self.store = Store(self.redis)
        hasher = Hasher(settings.login_hash_workers, settings.login_hash_queue)
        self.users = UserStore(self.redis, hasher)
        self.broadcaster = Broadcaster(self.redis, self.metrics, self.ws_queue_size)
        self.tokens = TokenCache(self.jwt_secret, max_age_s=settings.jwt_max_age_minutes * 60.0)
        self.login_guard = LoginGuard(
            per_address=settings.login_failures_per_address,
            per_user_address=settings.login_failures_per_user_address,
            window_s=settings.login_window_s,
        )
        self.sessions = SessionRegistry(settings.ws_max_per_user, settings.ws_max_per_address)
