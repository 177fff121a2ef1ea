"""Flowcast: streaming next-hour traffic forecasts for the Paris permanent road counters."""

from __future__ import annotations

__version__ = "0.1.0"
