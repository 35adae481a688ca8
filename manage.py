#!/usr/bin/env python
"""Django's command line. On a development machine it reads `.env` (written by `make run` on its
first start, git-ignored) for the variables the environment does not set, so a command run by hand
uses the settings `make run` uses. Production stays strict: with `DEBUG` off in the environment
(`DEBUG=0`), `.env` is never read."""

import os
import sys
from pathlib import Path

FALSE = {"0", "false", "no", "off", ""}


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines of `path` (blank lines and `#` comments skipped, quotes around a value
    removed); {} when the file does not exist."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.removeprefix("export ").strip()] = value
    return values


def load_env_file(path: Path) -> None:
    """Set the variables of `path` that the environment lacks, unless the environment says DEBUG off."""
    if os.environ.get("DEBUG", "1").strip().lower() in FALSE:
        return
    for key, value in read_env_file(path).items():
        os.environ.setdefault(key, value)


if __name__ == "__main__":
    load_env_file(Path(__file__).resolve().parent / ".env")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
