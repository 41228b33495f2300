#!/usr/bin/env bash
# Open the Atelier studio (the offline draft provider is the default when no API key is set),
# installing first only when needed: on the first launch, when pyproject.toml changed, when
# the environment's Python changed, or with ATELIER_REINSTALL=1. A stamp in .venv holds what
# the last install was made from; a launch that matches it starts at once (no pip, no
# warnings). scripts/setup.sh itself always installs in full (CI runs it directly).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.atelier-studio-installed

# What an install depends on: the project's requirements and the Python that runs them.
wanted() {
  {
    sha256sum pyproject.toml
    .venv/bin/python -c 'import sys; print(sys.version, sys.executable)'
    uname -m
  } 2>/dev/null | sha256sum | cut -d' ' -f1
}

if [ "${ATELIER_REINSTALL:-}" = 1 ] || [ ! -x .venv/bin/atelier ] || [ ! -f "$stamp" ] \
  || [ "$(cat "$stamp")" != "$(wanted)" ]; then
  rm -f "$stamp"  # an install that fails half-way is tried again next time
  bash scripts/setup.sh studio
  wanted >"$stamp"
fi
exec .venv/bin/atelier "$@"
