"""A readable terminal table of an evaluation report."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def summary_table(report: dict[str, Any]) -> Table:
    """Champion, candidates and baselines side by side, on the same scored hours."""
    table = Table(
        title=(
            f"{report['records']:,} readings · {report['sensors']} sensors · "
            f"{report['scored']:,} scored hours · {report['records_per_s']:,.0f} readings/s"
        )
    )
    for column in ("model", "kind", "MAE", "RMSE", "R²", "sMAPE %", "n"):
        table.add_column(column, justify="right" if column not in ("model", "kind") else "left")
    rows = [("champion", "served", report["champion"])]
    rows += [(name, "candidate", block) for name, block in report["models"].items()]
    rows += [(name, "baseline", block) for name, block in report["baselines"].items()]
    for name, kind, block in rows:
        table.add_row(
            name, kind, *(_fmt(block[key]) for key in ("mae", "rmse", "r2", "smape", "n"))
        )
    interval = report.get("interval", {})
    if interval.get("coverage") is not None:
        table.caption = (
            f"served interval coverage {interval['coverage']:.1%} "
            f"(nominal {interval['nominal_coverage']:.0%})"
        )
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}"
