"""Online candidates from River, each forecasting the flow of hour ``t+1``.

- ``linear``: Huber linear regression (SGD) on the standardised inputs, predicting the
  deviation from the day-type × hour profile in units of the sensor's level.
- ``linear_fast``: the same with a ten-times larger rate on the intercept and weights, so it
  adapts within hours after an abrupt change (at the cost of noisier forecasts in calm times).
- ``tree``: a Hoeffding tree regressor (quantisation splitter, linear leaves): non-linear
  interactions between hour, occupancy and recent deviations.
- ``ensemble``: a stacked ensemble: a Huber linear regression (SGD) whose inputs are the
  other candidates' and the baselines' forecasts (as normalised deviations), learnt online on
  the same delayed labels; it weighs each forecaster by what it has added lately.
- ``holt_winters``: additive Holt-Winters on the raw hourly flow with a daily season; missing
  hours are imputed by its own forecast (at most a day), longer gaps restart it.
"""

from __future__ import annotations

from river import linear_model, optim, time_series, tree

from models.features import CLIP, Features
from models.interface import Forecaster

TREE_INPUTS = (
    "dev_lag_1",
    "dev_lag_2",
    "dev_lag_24",
    "dev_lag_168",
    "dev_same_hour_mean",
    "occupancy_lag_1",
    "profile_level",
    "hour_sin",
    "hour_cos",
)
MAX_IMPUTED_HOURS = 24


class LinearDeviation:
    """River ``LinearRegression`` on standardised inputs, target = normalised deviation."""

    def __init__(self, name: str, learning_rate: float, huber_epsilon: float = 0.5) -> None:
        self.name = name
        self.model = linear_model.LinearRegression(
            optimizer=optim.SGD(learning_rate),
            intercept_lr=learning_rate,
            loss=optim.losses.Huber(epsilon=huber_epsilon),
        )

    def predict_one(self, f: Features) -> float:
        return f.to_flow(self.model.predict_one(f.z))

    def learn_one(self, f: Features, y: float) -> None:
        self.model.learn_one(f.z, (y - f.profile) / f.scale)


class StackedEnsemble:
    """Online linear stacking of the other forecasters (a candidate built on candidates)."""

    name = "ensemble"

    def __init__(self, learning_rate: float = 0.03, huber_epsilon: float = 0.5) -> None:
        self.model = linear_model.LinearRegression(
            optimizer=optim.SGD(learning_rate),
            intercept_lr=learning_rate,
            loss=optim.losses.Huber(epsilon=huber_epsilon),
        )

    def predict_from(self, f: Features, forecasts: dict[str, float]) -> float:
        """Combine ``forecasts`` (flows) for ``f``; the inputs are kept on ``f`` for learning."""
        profile, scale = f.profile, f.scale
        inputs = {}
        for name, flow in forecasts.items():
            value = (flow - profile) / scale
            inputs[name] = CLIP if value > CLIP else -CLIP if value < -CLIP else value
        f.stack_inputs = inputs
        return f.to_flow(self.model.predict_one(inputs))

    def learn_one(self, f: Features, y: float) -> None:
        self.model.learn_one(f.stack_inputs, (y - f.profile) / f.scale)


class TreeDeviation:
    """River ``HoeffdingTreeRegressor`` on a few standardised inputs, target = deviation."""

    name = "tree"

    def __init__(self) -> None:
        self.model = tree.HoeffdingTreeRegressor(
            grace_period=200,
            leaf_prediction="model",
            splitter=tree.splitter.QOSplitter(),
            max_depth=8,
        )

    @staticmethod
    def _inputs(f: Features) -> dict[str, float]:
        z = f.z
        return {key: z[key] for key in TREE_INPUTS}

    def predict_one(self, f: Features) -> float:
        return f.to_flow(float(self.model.predict_one(self._inputs(f))))

    def learn_one(self, f: Features, y: float) -> None:
        self.model.learn_one(self._inputs(f), (y - f.profile) / f.scale)


class HoltWintersFlow:
    """River ``HoltWinters`` (additive, daily season) on the hourly flow series."""

    name = "holt_winters"

    def __init__(self) -> None:
        self.model = self._fresh()
        self.last_hour: int | None = None

    @staticmethod
    def _fresh() -> time_series.HoltWinters:
        return time_series.HoltWinters(alpha=0.3, beta=0.01, gamma=0.2, seasonality=24)

    def predict_one(self, f: Features) -> float:
        if self.last_hour is None or not self.model._initialized:
            return f.profile
        horizon = f.target_hour - self.last_hour
        if not 1 <= horizon <= MAX_IMPUTED_HOURS:
            return f.profile
        return max(0.0, float(self.model.forecast(horizon=horizon)[-1]))

    def learn_one(self, f: Features, y: float) -> None:
        gap = 0 if self.last_hour is None else f.target_hour - self.last_hour - 1
        if gap > MAX_IMPUTED_HOURS:
            self.model = self._fresh()
        elif gap > 0 and self.model._initialized:
            for value in self.model.forecast(horizon=gap):
                self.model.learn_one(value)
        self.model.learn_one(y)
        self.last_hour = f.target_hour


def make_candidates() -> list[Forecaster]:
    """The default candidate set, in report order.

    The tree is not in it: on the bundled data it costs ~45 µs per reading (as much as the
    rest of the core) for no gain in the served error; `make_all_candidates` includes it.
    """
    return [
        LinearDeviation("linear", learning_rate=0.003),
        LinearDeviation("linear_fast", learning_rate=0.03),
        HoltWintersFlow(),
    ]


def make_all_candidates() -> list[Forecaster]:
    """Every candidate, the non-linear tree included."""
    return [*make_candidates(), TreeDeviation()]


CANDIDATE_SETS = {"default": make_candidates, "all": make_all_candidates}
