#!/usr/bin/env bash
# Set up everything needle needs on a fresh Debian machine: system packages (when missing and
# we are root), a virtualenv in .venv, and needle with all extras installed in it.
# Called by `make demo` and `make test`; safe to run again (it does only what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

# System packages: none are required by the core. NEEDLE_APT_PACKAGES names extra ones to
# install when missing: `make test` asks for Debian's chromium (the review UI's browser test).
need_apt=()
for pkg in ${NEEDLE_APT_PACKAGES:-}; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing system packages: ${need_apt[*]} (run as root or install them)" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.needle-installed"
want=$(cat pyproject.toml setup.py scripts/bootstrap.sh | sha256sum | cut -c1-16)
# the text guard's hot modules are compiled in place (setup.py, mypyc): rebuilt when one of
# them changes, or the list of them (TEXTGUARD in src/needle/_compiled.py). Every module of
# the package is hashed, compiled or not: a new module is covered without editing this line.
compiled_stamp="$VENV/.needle-compiled"
compiled_want=$(cat src/needle/_compiled.py src/needle/textguard/*.py | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[all,demo,dev]"
  echo "$want" > "$stamp"
  echo "$compiled_want" > "$compiled_stamp"
elif [ ! -f "$compiled_stamp" ] || [ "$(cat "$compiled_stamp")" != "$compiled_want" ]; then
  echo "text guard sources changed: compiling them again (about 30 s)"
  "$VENV/bin/python" -m pip install -q --no-deps -e .
  echo "$compiled_want" > "$compiled_stamp"
fi
