"""The dashboard's live-feed line in a real headless Chromium: shown when a feed reports.

The gateway app runs in-thread (real uvicorn, real socket) on the session Redis; the status is
the JSON ``flowcast live`` writes (`FeedStatus`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi import FastAPI
from gateway_helpers import ADMIN_PASSWORD, serving
from test_api_browser import CHROMIUM_ARGS, TIMEOUT_MS, chromium_path

from flowcast import redis_keys as keys
from producers.live.status import FeedStatus

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_the_dashboard_shows_the_feed_freshness_line(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    from playwright.sync_api import expect, sync_playwright

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    status = FeedStatus("https://opendata.paris.fr/api/…/records", every_s=600.0)
    status.succeeded(now, now - timedelta(hours=5))  # the newest hour is 5 h old: late
    executable = chromium_path()
    with serving(app) as port, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("#login button[type=submit]")
            expect(page.locator("#login")).to_be_hidden(timeout=TIMEOUT_MS)
            line = page.locator("#feed-line")
            expect(line).to_be_hidden()  # no live feed has reported: no line
            redis_client.set(keys.FEED_STATUS, status.to_json())
            page.reload()  # signed in still (the token is in sessionStorage)
            expect(line).to_contain_text("newest data hour", timeout=TIMEOUT_MS)
            expect(line).to_contain_text("· last poll")
            expect(line).to_have_class("feed-line late")
            assert errors == [], errors
        finally:
            browser.close()
