"""The per-app bundle of collaborators the routes use (``app.state.gateway``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from api.broadcaster import Broadcaster
from api.catalog import Catalog
from api.metrics import GatewayMetrics
from api.ratelimit import LoginRateLimiter
from api.replay import ReplayManager
from api.security import TokenCache
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
    ws_ping_interval: float = 20.0
    ws_queue_size: int = 256
    login_limiter: LoginRateLimiter = field(default_factory=LoginRateLimiter)
    replay: ReplayManager = field(default_factory=ReplayManager)

    def __post_init__(self) -> None:
        self.store = Store(self.redis)
        self.users = UserStore(self.redis)
        self.broadcaster = Broadcaster(self.redis, self.metrics, self.ws_queue_size)
        self.tokens = TokenCache(self.jwt_secret)
