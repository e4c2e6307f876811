#!/usr/bin/env bash
# Build the packaged app from a clean virtual environment:
#   packaging/build.sh            -> dist/bank-desktop/ (a folder; starts fastest)
#   packaging/build.sh --onefile  -> dist/bank-desktop-onefile (one file; unpacks at each start)
# The development .venv is never used: PyInstaller bundles whatever the environment holds.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
onefile=0
[ "${1:-}" = "--onefile" ] && onefile=1

started=$(date +%s)
venv="$root/build/packaging-venv"
rm -rf "$venv" "$root/build/pyinstaller" "$root/build/lib"  # build/lib: no stale module from an older tree
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$root" "pyinstaller==6.22.3" 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -c "import bank_desktop, PyInstaller" # fail loudly if the install did not work

if [ "$onefile" = 1 ]; then
  export BANK_DESKTOP_ONEFILE=1
  rm -f "$root/dist/bank-desktop-onefile"
  "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$root/build/onefile-dist" --workpath "$root/build/pyinstaller" packaging/bank-desktop.spec
  mkdir -p "$root/dist"
  mv "$root/build/onefile-dist/bank-desktop" "$root/dist/bank-desktop-onefile"
  out="$root/dist/bank-desktop-onefile"
else
  rm -rf "$root/dist/bank-desktop"
  "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$root/dist" --workpath "$root/build/pyinstaller" packaging/bank-desktop.spec
  cp packaging/bank-desktop.desktop "$root/dist/bank-desktop/"
  cp resources/app-icon-256.png "$root/dist/bank-desktop/bank-desktop.png"
  out="$root/dist/bank-desktop"
fi
echo "built $out: $(du -sh "$out" | cut -f1) in $(( $(date +%s) - started )) s"
