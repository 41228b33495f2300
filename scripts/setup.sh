#!/usr/bin/env bash
# Installs what Atelier needs on a fresh machine. Usage: scripts/setup.sh [studio|test]
#   studio: Python packages + the system libraries Qt needs to open a window
#   test:   the above + a Secret Service (gnome-keyring, dbus), Xvfb and the test tools
set -euo pipefail
mode="${1:-studio}"
cd "$(dirname "$0")/.."

# fonts-noto-cjk: Japanese, Simplified and Traditional Chinese and Korean each in their own glyph
# forms (atelier/studio/look/fonts.py, draft placeholders); WenQuanYi stays as the fallback for older systems.
# tesseract-ocr with its Japanese, Chinese and Korean data: the text-area rule of the marketplaces'
# image checks (atelier/output/channels/ocr.py; without it the rule says "not checked").
debs=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0
      libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0
      libxcb-image0 fonts-noto-cjk fonts-wqy-microhei
      tesseract-ocr tesseract-ocr-jpn tesseract-ocr-chi-sim tesseract-ocr-chi-tra tesseract-ocr-kor)
if [ "$mode" = test ]; then
  # redis-server: the team queue's tests start their own (tests/support/redis.py).
  # at-spi2-core, python3-pyatspi: tests/studio/test_atspi_day.py drives the window on Xvfb through
  # the accessibility tree, from the system Python (which has pyatspi).
  debs+=(gnome-keyring dbus dbus-x11 xvfb at-spi2-core python3-pyatspi xauth desktop-file-utils
         appstream redis-server openssl)
fi

if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for d in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "Not a Debian/Ubuntu system: install Qt's runtime libraries (and gnome-keyring, dbus, Xvfb for the tests) with your package manager."
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$mode" = test ]; then
  .venv/bin/python -m pip install -q -e ".[test]"
else
  .venv/bin/python -m pip install -q -e .
fi
