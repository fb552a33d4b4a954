"""The layers point one way: db/ below handlers/ and api/, which are below bot/.

Every import in every module is read (top-level and inside functions), so a lazy import cannot slip
past. docs/architecture.md says the same in prose.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# folder -> top-level packages its modules must never import
FORBIDDEN = {
    "db": {"telegram", "fastapi", "starlette", "uvicorn", "handlers", "api", "bot"},
    "handlers": {"bot", "api", "fastapi", "starlette"},
    "api": {"bot", "handlers", "telegram"},
}


def imported_packages(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(folder: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, package in imported_packages(path.read_text(encoding="utf-8")):
            if package in FORBIDDEN[folder]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {package}")
    return bad


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_import_runs_against_the_layers(folder):
    if not (ROOT / folder).is_dir():
        pytest.skip(f"no {folder}/ yet")
    assert violations(folder) == []


def test_the_check_sees_lazy_and_dotted_imports():
    source = "import os\ndef f():\n    from bot.app import build_application\n    import telegram.ext\n"
    assert imported_packages(source) == [(1, "os"), (3, "bot"), (4, "telegram")]
