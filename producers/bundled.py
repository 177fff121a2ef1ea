"""Where the bundled real data is: the one place that knows (``data/paris``).

A source checkout (or an editable install) has ``data/paris`` next to the packages; an image
or a plain install runs from a directory holding ``data/paris`` (the Docker image's
``/app``). The first of these that exists wins.
"""

from __future__ import annotations

from pathlib import Path

BUNDLED = Path("data") / "paris"


def bundled_data_dir() -> Path:
    """``data/paris`` next to the packages (a source checkout) or under the working directory.

    >>> bundled_data_dir().name
    'paris'
    """
    candidates = (Path(__file__).resolve().parents[1], Path.cwd())
    for root in candidates:
        if (root / BUNDLED).is_dir():
            return root / BUNDLED
    raise FileNotFoundError(f"no {BUNDLED} under {' or '.join(map(str, candidates))}")
