"""Plausibility bounds of a reading, shared by the producers (files) and the worker's guard.

A value outside them is impossible, not merely unusual: the record becomes a dead letter.
"""

from __future__ import annotations

MAX_FLOW = 20_000.0
"""veh/h above which a count is absurd (a lane carries about 2,000 veh/h)."""
MAX_OCCUPANCY = 100.0
"""Occupancy is a share of the hour, in %."""
