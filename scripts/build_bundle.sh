#!/usr/bin/env bash
# Builds the one-folder Linux bundle and its tarball, validates the desktop entry and the
# AppStream metainfo, and smoke-tests the built program (offscreen: opens the window, makes
# the sample project's three draft images, quits). Run after scripts/setup.sh test.
#   dist/atelier/                      the program (dist/atelier/atelier)
#   dist/atelier-VERSION-linux-ARCH.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(.venv/bin/python -c "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
arch=$(uname -m)
id=io.github.atelier.Studio

desktop-file-validate "packaging/linux/$id.desktop"
appstreamcli validate --no-net "packaging/linux/$id.metainfo.xml"

.venv/bin/python -m pip install -q "pyinstaller>=6.10,<7"
rm -rf build/pyinstaller dist/atelier
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/atelier.spec

# The freedesktop layout beside the program, so `tar x` + a copy of share/ installs it.
share=dist/atelier/share
install -Dm644 "packaging/linux/$id.desktop" "$share/applications/$id.desktop"
install -Dm644 "packaging/linux/$id.metainfo.xml" "$share/metainfo/$id.metainfo.xml"
install -Dm644 atelier/resources/icons/atelier.svg "$share/icons/hicolor/scalable/apps/$id.svg"
install -Dm644 packaging/icons/atelier.png "$share/icons/hicolor/256x256/apps/$id.png"
tarball="dist/atelier-$version-linux-$arch.tar.gz"
tar -C dist -czf "$tarball" atelier
echo "built $tarball ($(du -sh dist/atelier | cut -f1) unpacked)"

smoke=$(mktemp -d)
trap 'rm -rf "$smoke"' EXIT
QT_QPA_PLATFORM=offscreen ATELIER_HOME="$smoke/home" ATELIER_SMOKE_TEST="$smoke/out" \
  OPENAI_API_KEY= timeout 180 dist/atelier/atelier
dist/atelier/atelier --version
