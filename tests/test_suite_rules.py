"""The suite's own rules: the reliability tests are collected in every run (the long budgets
skipped, saying why), and no test pauses except through tests/waiting.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "GRIDCASE_RELIABILITY"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_quick_reliability_tests_are_collected_and_the_long_ones_say_how_to_run_them():
    collected = _pytest("--collect-only", "-q", "tests/reliability", "-m", "not long").stdout
    for quick in (
        "test_schema_fuzz.py",
        "test_redis_outage.py",
        "test_sqlite_writers.py",
        "test_import_fuzz.py",
        "test_embedded_stack.py",
    ):
        assert f"tests/reliability/{quick}::" in collected, collected[-2000:]
    long = _pytest("-q", "-rs", "tests/reliability", "-m", "long")
    assert long.returncode == 0, long.stdout[-2000:]
    skipped = re.findall(r"SKIPPED \[(\d+)\] (\S+?)[:\s].*make reliability", long.stdout)
    files = {Path(path).name for _n, path in skipped}
    assert {
        "test_schema_fuzz_long.py",
        "test_redis_outage_long.py",
        "test_sqlite_writers_long.py",
        "test_import_fuzz_long.py",
        "test_kill_worker.py",
    } <= files, long.stdout[-2000:]
    assert " passed" not in long.stdout


def test_no_test_sleeps_outside_the_polling_helper():
    sleeping = []
    for path in TESTS.rglob("*.py"):
        if path.name == "waiting.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\bsleep\(", line):
                sleeping.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert sleeping == [], "wait for a condition with tests.waiting.wait_until:\n" + "\n".join(
        sleeping
    )
