"""Oversized and endless uploads are refused with a JSON 413 (streamed ones included).

`api.body_limit` refuses a declared oversized body before reading it and cuts a chunked one
off at the limit; the route's own check (`api.routes.batch.read_limited`) stays behind it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fuzz_gateway import Gateway

from api.routes.batch import MAX_BYTES

pytestmark = pytest.mark.integration
HEADER = b"sensor_id,ts\n"


def auth(gateway: Gateway, role: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway[2][role]}"}


@pytest.mark.parametrize("size", [MAX_BYTES + 1, 4 * MAX_BYTES, 32 * MAX_BYTES])
def test_an_oversized_upload_is_a_json_413(gateway: Gateway, size: int) -> None:
    _, client, _ = gateway
    body = HEADER + b"191,2022-06-17T14:00:00Z\n" * (size // 25 + 1)
    response = client.post(
        "/forecasts/batch", files={"file": ("big.csv", body, "text/csv")}, headers=auth(gateway)
    )
    assert response.status_code == 413
    assert "detail" in response.json()


def test_a_streamed_endless_upload_is_cut_off(gateway: Gateway) -> None:
    _, client, _ = gateway
    boundary = "flowcastboundary"

    def endless() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="endless.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode() + HEADER
        for _ in range(8 * MAX_BYTES // 4096):  # 8x the limit, in chunks, no Content-Length
            yield b"191,2022-06-17T14:00:00Z\n" * 160
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**auth(gateway), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/forecasts/batch", content=endless(), headers=headers)
    assert response.status_code == 413


def test_operators_get_the_same_limit(gateway: Gateway) -> None:
    _, client, _ = gateway
    body = HEADER + b"x" * (MAX_BYTES + 1)
    files = {"file": ("big.csv", body, "text/csv")}
    response = client.post("/forecasts/batch", files=files, headers=auth(gateway, "operator"))
    assert response.status_code == 413
