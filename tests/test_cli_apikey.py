"""`python -m bot apikey new|list|revoke`: the key printed once on the last line, only its hash stored."""

from __future__ import annotations

import pytest

from bot.cli import main
from db.apikeys import PREFIX, hash_key
from tests import cli_helpers
from tests.cli_helpers import run_sync, scalar
from tests.test_cli import run

database_url = cli_helpers.database_url
cli_env = cli_helpers.cli_env


def test_new_prints_the_key_alone_on_its_last_line_and_stores_only_its_hash(cli_env, capsys):
    code, out, err = run(capsys, "apikey", "new", "Manager", "web", "shop")
    assert (code, err) == (0, "")
    *text, key = out.strip().splitlines()
    assert key.startswith(PREFIX) and len(key) > 40 and " " not in key
    assert "“web shop” (manager)" in text[0] and "only this once" in text[0]
    stored = run_sync(scalar(cli_env, "SELECT key_hash FROM api_keys"))
    assert stored == hash_key(key) and key not in stored
    assert run_sync(scalar(cli_env, "SELECT action FROM audit_log ORDER BY id DESC LIMIT 1")) == "apikey_new"


def test_list_shows_id_name_role_created_and_last_used(cli_env, capsys):
    code, out, _ = run(capsys, "apikey", "list")
    assert (code, out.strip()) == (0, "No API keys yet: make one with `python -m bot apikey new <role> <name>`.")
    run(capsys, "apikey", "new", "cashier", "till", "2")
    code, out, _ = run(capsys, "apikey", "list")
    assert code == 0
    line = out.strip()
    assert line.startswith("#1") and "till 2" in line and "cashier" in line and "created 20" in line
    assert "last used never" in line


def test_revoke_stops_a_key_and_a_second_revoke_or_a_missing_key_fails(cli_env, capsys):
    run(capsys, "apikey", "new", "admin", "erp")
    code, out, _ = run(capsys, "apikey", "revoke", "1")
    assert code == 0 and "revoked" in out
    assert run_sync(scalar(cli_env, "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = 1"))
    assert run_sync(scalar(cli_env, "SELECT action FROM audit_log ORDER BY id DESC LIMIT 1")) == "apikey_revoke"
    code, _, err = run(capsys, "apikey", "revoke", "1")
    assert code == 1 and "already revoked" in err
    code, _, err = run(capsys, "apikey", "revoke", "99")
    assert (code, err.strip()) == (1, "No API key #99.")
    code, out, _ = run(capsys, "apikey", "list")
    assert "revoked" in out


@pytest.mark.parametrize("argv", [("new", "owner", "x"), ("new", "admin"), ("revoke", "one"), ()])
def test_bad_arguments_exit_2(cli_env, capsys, argv):
    with pytest.raises(SystemExit) as stopped:
        main(["apikey", *argv])
    assert stopped.value.code == 2
    assert "usage: python -m bot apikey" in capsys.readouterr().err
