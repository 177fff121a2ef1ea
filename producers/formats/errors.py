"""The one error a reader raises for a file it cannot read as traffic counts."""

from __future__ import annotations


class UnknownFormatError(ValueError):
    """The file is not in a format Flowcast reads as traffic counts; the message says why."""

    def __init__(self, path: str, why: str) -> None:
        self.path = path
        self.why = why
        super().__init__(
            f"{path}: {why}. Expected a Paris road-count file: the portal CSV export "
            "(';', French headers), the historical per-year CSV (iu_ac,…,t_1h,q,k,…), "
            "a re-saved variant of these, or Explore API v2.1 JSON records (plain or .gz)."
        )
