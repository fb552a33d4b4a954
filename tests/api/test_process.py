"""`python -m bot api` as a real process on loopback: it migrates, answers over HTTP, finishes a
request in flight on SIGTERM; and a bounded schemathesis run against its own OpenAPI.

Every wait is bounded; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from db import apikeys
from db.engine import make_engine, make_session_factory, transaction
from db.migrate import upgrade_async
from tests import cli_helpers

ROOT = Path(__file__).resolve().parent.parent.parent
STARTUP_LIMIT = 60  # seconds for the process to come up (a slow, shared machine)
STOP_LIMIT = 30


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api_env(url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in cli_helpers.CLEARED_ENV and k != "DATABASE_URL"}
    env.update(cli_helpers.PINNED_ENV)
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=url, API_LISTEN="127.0.0.1", API_PORT=str(port), **extra)
    return env


def new_key(env: dict[str, str], cwd: Path, role: str = "admin") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "apikey", "new", role, "tests"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_LIMIT,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def wait_until_up(process: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"python -m bot api exited with {process.returncode}: {process.stderr.read()}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("python -m bot api did not answer in time")


def start(env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "api"],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=STOP_LIMIT)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return process.returncode, err


async def test_the_process_migrates_answers_and_finishes_a_request_in_flight_on_sigterm(tmp_path):
    url, port = f"sqlite+aiosqlite:///{tmp_path / 'pos.db'}", free_port()
    env = api_env(url, port)
    key = new_key(env, tmp_path)  # apikey migrates the fresh database first
    process = start(env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_until_up, process, base)
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
            assert (await client.get("/v1/products")).json() == {"items": [], "next_cursor": None}
            assert (await client.get("/docs")).status_code == 200

        # A request whose body is still arriving when SIGTERM comes: it is finished, then the process ends.
        body = b'{"name": "Late Larry"}'
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:5]
        )
        await writer.drain()
        await asyncio.sleep(0.5)  # ordering only: the server has the request before the signal
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        writer.write(body[5:])
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), STOP_LIMIT)
        writer.close()
        assert status_line.startswith(b"HTTP/1.1 201"), status_line
        code, err = await asyncio.to_thread(stop, process)
    finally:
        if process.poll() is None:
            stop(process)
    assert code == 0, err
    assert key not in err
    assert await cli_helpers.scalar(url, "SELECT name FROM customers") == "Late Larry"


async def _migrated_with_key(url: str) -> str:
    await upgrade_async(url)
    engine = make_engine(url)
    try:
        async with transaction(make_session_factory(engine)) as session:
            _, key = await apikeys.create_key(session, role="admin", name="schemathesis", actor=None)
        return key
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def served_api(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A running `python -m bot api` on a fresh SQLite database with a few rows: (base URL, admin key)."""
    tmp = tmp_path_factory.mktemp("served")
    url, port = f"sqlite+aiosqlite:///{tmp / 'pos.db'}", free_port()
    env = api_env(url, port, API_RATE_LIMIT="1000000")
    key = cli_helpers.run_sync(_migrated_with_key(url))  # in process: one interpreter start fewer
    process = start(env, tmp)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, base)
        headers = {"Authorization": f"Bearer {key}"}
        for i in range(1, 4):
            httpx.post(
                f"{base}/v1/products",
                headers=headers,
                json={
                    "name": f"Item {i}",
                    "price": {"amount": 100 * i, "currency": "USD"},
                    "stock": 50,
                    "sku": f"SKU{i}",
                },
            )
            httpx.post(f"{base}/v1/customers", headers=headers, json={"name": f"Customer {i}"})
            httpx.post(
                f"{base}/v1/sales",
                headers=headers,
                json={
                    "lines": [{"product_id": i, "quantity": 1}],
                    "payments": [{"method": "card", "amount": {"amount": 100 * i, "currency": "USD"}}],
                },
            )
        yield base, key
    finally:
        code, err = stop(process)
        assert code == 0, err


EXAMPLES_PER_OPERATION = 12  # 16 operations: about 190 generated requests


def test_schemathesis_finds_no_500_and_every_response_matches_the_schema(served_api):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    base, key = served_api
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=base, headers={"Authorization": f"Bearer {key}"})
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        check()
    assert calls >= 16 * 8
