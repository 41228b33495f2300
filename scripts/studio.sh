#!/usr/bin/env bash
# Install everything and open the Atelier studio (the offline draft provider is the default
# when no API key is set).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh studio
exec .venv/bin/atelier "$@"
