# Sourced by scripts/run and scripts/test: makes a fresh machine ready, quickly a second time.
#  - system libraries Qt needs, offscreen and on a real X11 display (installed with apt-get
#    when missing and we are root), and Xvfb for the tests that run under an X server
#  - a virtual environment in .venv with the project and its test tools (re-synced whenever
#    pyproject.toml changes)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

# Offscreen Qt (tests, screenshots, --smoke).
qt_offscreen=(libgl1 libegl1 libx11-6 libxkbcommon0 libfontconfig1 libfreetype6 libglib2.0-0
  libdbus-1-3 fonts-dejavu-core)
# Every library Qt's xcb plugin links: `ldd .../PySide6/Qt/plugins/platforms/libqxcb.so`
# (bank_desktop/gui/display.py keeps the same list; a test checks both against the plugin).
qt_xcb=(libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1
  libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0)
# A real X server for the tests that run under X11 (scripts/test).
x_server=(xvfb xauth)
need_apt=()
for pkg in "${qt_offscreen[@]}" "${qt_xcb[@]}" "${x_server[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})) && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" != none ]; then
    echo "bootstrap: installing system packages: ${need_apt[*]}" >&2
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "bootstrap: please install: ${need_apt[*]}" >&2
  fi
fi

# The PostgreSQL tests use the machine's server for real: start it if it is down.
if command -v pg_lsclusters >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if pg_lsclusters --no-header 2>/dev/null | grep -q " down "; then
    echo "bootstrap: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi

venv="$root/.venv"
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing Python packages into .venv" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$root[dev]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$venv/bin/python" -c "import bank_desktop, pytest" # fail loudly if the install did not work
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
export PATH="$venv/bin:$PATH"

# Say now, not at a clerk's first start, if the X11 plugin still lacks a library.
if command -v ldd >/dev/null 2>&1; then
  for plugin in "$venv"/lib/python3*/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so; do
    [ -f "$plugin" ] || continue
    missing="$(ldd "$plugin" 2>/dev/null | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ' || true)"
    if [ -n "$missing" ]; then
      echo "bootstrap: the window cannot open on X11, missing: $missing" >&2
    fi
  done
fi
