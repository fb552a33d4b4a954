"""Start-up imports only what every run needs: heavy optional libraries wait for their command.

A fresh interpreter does what `python -m bot run` does before it talks to Telegram (import the
CLI and the run modes, build the production Application with every handler registered) and
reports which heavy libraries ended up in sys.modules. Each of them belongs to one command (a
chart, an Excel export, a PDF receipt, a barcode photo) and costs more to import than the whole
bot (docs/benchmarks.md, bench_startup).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ["matplotlib", "numpy", "PIL", "openpyxl", "fpdf", "segno", "escpos", "zxingcpp"]
# Lighter, but each also serves only some commands or settings: a phone number, an e-mail address,
# a migration, an import's progress bar, an e-mailed receipt; the HTTP API runs in its own process.
ONE_COMMAND = ["phonenumbers", "email_validator", "alembic", "tqdm", "smtplib", "fastapi", "starlette", "uvicorn"]

BUILD = f"""
import json, sys
import bot.cli, bot.run
from bot.app import build_application
from db.settings import Settings
build_application(Settings(_env_file=None, telegram_bot_token="123456:" + "a" * 35,
                           database_url="sqlite+aiosqlite:///unused-startup.db"))
print(json.dumps([name for name in {HEAVY + ONE_COMMAND!r} if name in sys.modules]))
"""


def heavy_modules_after(code: str) -> list[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_the_application_imports_no_heavy_library():
    assert heavy_modules_after(BUILD) == []


def test_a_phone_number_imports_phonenumbers_when_it_is_read():
    # Lazy, not gone: the first phone number read (or a PHONE_REGION set) brings it in.
    code = BUILD.replace(
        "print(", "from db.customers import normalise_phone\nnormalise_phone('+44 20 7946 0958')\nprint(", 1
    )
    assert heavy_modules_after(code) == ["phonenumbers"]


def test_the_check_sees_a_heavy_import():
    # The same probe, after the chart module draws: matplotlib is there, so the probe works.
    code = BUILD.replace(
        "print(", "from db.charts import revenue_chart_png\nrevenue_chart_png([], currency='USD', title='t')\nprint(", 1
    )
    assert "matplotlib" in heavy_modules_after(code)


def test_both_connections_to_telegram_verify_certificates_with_one_tls_context():
    # The production Application loads the CA bundle once for its API and its polling connection;
    # both still verify the server's certificate and host name.
    import ssl

    from bot.app import build_application
    from db.settings import Settings

    app = build_application(
        Settings(_env_file=None, telegram_bot_token="123456:" + "a" * 35, database_url="sqlite+aiosqlite:///unused.db")
    )
    api_request, poll_request = app.bot._request[1], app.bot._request[0].inner
    contexts = [request._client_kwargs["verify"] for request in (api_request, poll_request)]
    assert contexts[0] is contexts[1]
    assert isinstance(contexts[0], ssl.SSLContext)
    assert contexts[0].verify_mode == ssl.CERT_REQUIRED and contexts[0].check_hostname
    assert contexts[0].get_ca_certs()
