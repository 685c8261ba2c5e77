#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain how to get one and exit 1.
# Why: Rasa 3.6 supports Python 3.8-3.10 only, while these machines default to 3.11.
set -u
want="$(cat "$(dirname "$0")/../.python-version" 2>/dev/null || echo 3.10)"

is_py310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
if command -v pyenv >/dev/null 2>&1; then
  prefix="$(pyenv prefix "$want" 2>/dev/null || true)"
  [ -n "$prefix" ] && candidates+=("$prefix/bin/python3.10")
fi
candidates+=(python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10)

for c in "${candidates[@]}"; do
  if is_py310 "$c"; then command -v "$c"; exit 0; fi
done

cat >&2 <<MSG
ERROR: Python 3.10 was not found, and Rasa 3.6 needs Python 3.10 (3.11 is not supported).
Install it with one of:
  pyenv install $want            (then re-run the same make command)
  apt-get install python3.10 python3.10-venv
or point to an existing interpreter:  PYTHON310=/path/to/python3.10 make ...
MSG
exit 1
