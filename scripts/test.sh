#!/usr/bin/env bash
# Install everything and pass the tests: lint (ruff), types (mypy --strict on atelier/), then the
# whole pytest suite with a real Secret Service (gnome-keyring in a private D-Bus session) and
# Qt on the offscreen platform.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# The tree's layers, Qt only in the window, no import cycles ([tool.importlinter] in pyproject.toml).
.venv/bin/lint-imports

export QT_QPA_PLATFORM=offscreen
export ATELIER_REQUIRE_KEYRING=1
export ATELIER_REQUIRE_MOUNT=1
exec dbus-run-session -- bash -c '
  set -euo pipefail
  # A fresh keyring every run: an old login keyring with another password would prompt.
  export XDG_DATA_HOME="$(mktemp -d)"
  eval "$(printf "atelier-ci\n" | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  # In parallel (pytest-xdist, one worker per core), then the tests that measure time or a
  # rate alone, on a machine no other test is loading; exit 5 is "none of those selected".
  .venv/bin/python -m pytest -p no:cacheprovider -n auto --dist worksteal -m "not timing" "$@"
  .venv/bin/python -m pytest -p no:cacheprovider -m timing "$@" || [ $? -eq 5 ]
' pytest "$@"
