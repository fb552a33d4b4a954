"""Start-up: importing the bot and building its Application vs importing its two big libraries.

Each sample is a fresh interpreter (``python -c``) that times, from its first line, either
  (a) ``import telegram, telegram.ext, sqlalchemy, sqlalchemy.ext.asyncio``: the floor, what any
      bot on this stack pays; or
  (b) what ``python -m bot run`` does before it talks to Telegram: import the CLI and the run
      modes, read settings and build the production Application (handlers registered, engine
      created, no connection made).
Samples alternate (a), (b), so load on the machine hits both alike; medians are printed, of the
wall time (the goal) and of the process's CPU time (what the interpreter itself spent: on a busy
machine wall time also counts the waits for a free CPU, which CPU time leaves out). (b) also
lists which heavy optional libraries (matplotlib, numpy, PIL, openpyxl, fpdf, zxingcpp) ended up
imported: none should, they belong to the one command that draws a chart or writes a file.

Ratio
  (b) / (a)   what the bot adds to the floor; goal ≤ 1.5. A regression is a heavy library
              imported at start-up again (every restart, every test subprocess and every CLI
              command pays it): the list of heavy modules says which.

    python -m benchmarks.bench_startup [--reps 10]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks._common import machine, median, ms, parser, print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "numpy", "PIL", "openpyxl", "fpdf", "zxingcpp")

FLOOR = """
import time
start, cpu = time.perf_counter(), time.process_time()
import telegram, telegram.ext, sqlalchemy, sqlalchemy.ext.asyncio
print(time.perf_counter() - start, time.process_time() - cpu)
"""

BOT = f"""
import time
start, cpu = time.perf_counter(), time.process_time()
import bot.cli, bot.run
from bot.app import build_application
from db.settings import Settings
build_application(Settings(_env_file=None, telegram_bot_token="123456:" + "a" * 35,
                           database_url="sqlite+aiosqlite:///startup-bench.db"))
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
import json, sys
print(elapsed, cpu)
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def sample(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env={"PATH": ""}
    )
    return done.stdout.split("\n")


def main() -> int:
    opts = parser(__doc__, reps=10).parse_args()
    print(machine())
    floor, bot, floor_cpu, bot_cpu, heavy = [], [], [], [], []
    for _ in range(opts.reps):
        wall, cpu = map(float, sample(FLOOR)[0].split())
        floor.append(wall)
        floor_cpu.append(cpu)
        out = sample(BOT)
        wall, cpu = map(float, out[0].split())
        bot.append(wall)
        bot_cpu.append(cpu)
        heavy = json.loads(out[1])
    print_table(
        f"start-up, fresh interpreters, medians of {opts.reps}",
        ["measure", "median", "ratio to (a)", "CPU time", "CPU ratio"],
        [
            ["(a) import telegram + sqlalchemy", ms(median(floor)), "1.00", ms(median(floor_cpu)), "1.00"],
            [
                "(b) import the bot, build the Application",
                ms(median(bot)),
                f"{ratio(median(bot), median(floor)):.2f}",
                ms(median(bot_cpu)),
                f"{ratio(median(bot_cpu), median(floor_cpu)):.2f}",
            ],
        ],
    )
    print(f"  heavy modules imported by (b): {', '.join(heavy) or 'none'}")
    print(f"  goal: (b)/(a) ≤ 1.5, no heavy module\n\n{machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
