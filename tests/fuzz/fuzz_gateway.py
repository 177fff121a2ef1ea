"""Constants and types shared by the gateway fuzz tests and their fixtures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

if TYPE_CHECKING:
    from starlette.testclient import TestClient

ADMIN_PASSWORD = "fuzz-admin-password"
SECRET = "fuzz-jwt-secret-0123456789abcdef0123456789"
Gateway = tuple[FastAPI, "TestClient", dict[str, str | None]]
