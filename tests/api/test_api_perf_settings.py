"""How `run_api` configures uvicorn: TLS refused/required, access log, workers, fast loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.server import tls_options, uvicorn_options
from flowcast.settings import Settings


@pytest.fixture
def pem_files(tmp_path: Path) -> tuple[Path, Path]:
    """Two files standing for a certificate and its key (only their existence is checked)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("cert")
    key.write_text("key")
    return cert, key


def test_production_without_tls_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="refusing to serve plain HTTP in production") as exc:
        tls_options(Settings(environment="production"))
    assert "FLOWCAST_TLS_OFFLOADED=true" in str(exc.value)
    assert "FLOWCAST_TLS_CERTFILE" in str(exc.value)


def test_production_behind_a_tls_proxy_serves_plain_http() -> None:
    assert tls_options(Settings(environment="production", tls_offloaded=True)) == {}


def test_forwarded_headers_are_trusted_only_behind_the_tls_proxy() -> None:
    direct = uvicorn_options(Settings())
    assert direct["proxy_headers"] is False
    behind = Settings(
        environment="production",
        tls_offloaded=True,
        jwt_secret="x" * 40,
        forwarded_allow_ips="10.0.0.5",
    )
    options = uvicorn_options(behind)
    assert (options["proxy_headers"], options["forwarded_allow_ips"]) == (True, "10.0.0.5")


def test_dev_without_tls_serves_plain_http() -> None:
    assert tls_options(Settings()) == {}


def test_cert_and_key_are_passed_to_uvicorn(pem_files: tuple[Path, Path]) -> None:
    cert, key = pem_files
    settings = Settings(environment="production", tls_certfile=cert, tls_keyfile=key)
    assert tls_options(settings) == {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    options = uvicorn_options(settings)
    assert (options["ssl_certfile"], options["ssl_keyfile"]) == (str(cert), str(key))


@pytest.mark.parametrize("which", ["cert", "key"])
def test_cert_without_key_or_key_without_cert_is_refused(
    pem_files: tuple[Path, Path], which: str
) -> None:
    cert, key = pem_files
    settings = Settings(tls_certfile=cert) if which == "cert" else Settings(tls_keyfile=key)
    with pytest.raises(ValueError, match="both FLOWCAST_TLS_CERTFILE and FLOWCAST_TLS_KEYFILE"):
        tls_options(settings)


def test_missing_certificate_file_is_refused(pem_files: tuple[Path, Path]) -> None:
    _, key = pem_files
    with pytest.raises(ValueError, match=r"FLOWCAST_TLS_CERTFILE=.*is not a file"):
        tls_options(Settings(tls_certfile=Path("/nonexistent/cert.pem"), tls_keyfile=key))


def test_tls_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, pem_files: tuple[Path, Path]
) -> None:
    cert, key = pem_files
    monkeypatch.setenv("FLOWCAST_ENVIRONMENT", "production")
    monkeypatch.setenv("FLOWCAST_TLS_OFFLOADED", "true")
    assert tls_options(Settings()) == {}
    monkeypatch.setenv("FLOWCAST_TLS_OFFLOADED", "false")
    with pytest.raises(ValueError, match="production"):
        tls_options(Settings())
    monkeypatch.setenv("FLOWCAST_TLS_CERTFILE", str(cert))
    monkeypatch.setenv("FLOWCAST_TLS_KEYFILE", str(key))
    assert tls_options(Settings())["ssl_keyfile"] == str(key)


def test_defaults_no_access_log_one_worker_fast_loop() -> None:
    settings = Settings()
    assert (settings.api_access_log, settings.api_workers, settings.cors_origins) == (
        False,
        1,
        [],
    )
    options = uvicorn_options(settings)
    assert options["access_log"] is False
    assert options["workers"] == 1
    assert (options["loop"], options["http"]) == ("uvloop", "httptools")  # uvicorn[standard]
    assert options["ws_per_message_deflate"] is False
    assert uvicorn_options(Settings(api_access_log=True))["access_log"] is True


def test_several_workers_need_a_shared_jwt_secret() -> None:
    with pytest.raises(ValueError, match="FLOWCAST_JWT_SECRET"):
        uvicorn_options(Settings(api_workers=2))
    options = uvicorn_options(Settings(api_workers=2, jwt_secret="s" * 40))
    assert options["workers"] == 2


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="api_workers"):
        Settings(api_workers=0)
