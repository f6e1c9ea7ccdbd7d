#!/usr/bin/env bash
# Create or update Atiende's two Python environments. Re-runs are cheap: each environment carries a
# stamp with the hash of its lock file and pyproject.toml and is only reinstalled when they change.
#   .venv/bot  Python 3.10 — Rasa 3.6.21 (supports Python <=3.10), spaCy, the `bot` package
#   .venv/app  Python 3.11 — rasa-sdk, kb_index, handoff_api, sentence-transformers, faiss, torch CPU
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

find_python() {  # $1 = minor version, e.g. 3.10 ; $2 = override variable value
  local want="$1" override="$2" cand
  for cand in "$override" "python$want"; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" 2>/dev/null; then
      command -v "$cand"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local root; root=$(pyenv root)
    for cand in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
      [ -x "$cand/bin/python" ] && { echo "$cand/bin/python"; return 0; }
    done
  fi
  return 1
}

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

ensure_env() {  # $1 name  $2 python  $3 extra  $4 lock
  local name="$1" py="$2" extra="$3" lock="$4" dir=".venv/$1"
  local want; want=$(hash_of "$lock" pyproject.toml)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$want" ] && [ -x "$dir/bin/python" ]; then
    say "$name environment up to date ($dir)"; return 0
  fi
  say "creating $name environment in $dir with $("$py" --version 2>&1)"
  [ -x "$dir/bin/python" ] || "$py" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip wheel
  if [ "$name" = app ]; then
    # torch first and alone: the CPU wheel this machine provides; any other route pulls CUDA builds.
    "$dir/bin/python" -m pip install -q "torch==2.13.0"
  fi
  "$dir/bin/python" -m pip install -q -c "$lock" -e ".[$extra]"
  echo "$want" > "$dir/.stamp"
  say "$name environment ready"
}

PY310=$(find_python 3.10 "${PYTHON310:-}") || die "Python 3.10 was not found. Rasa 3.6 (the bot) runs on Python 3.8-3.10 only.
  Install it, e.g. 'pyenv install 3.10.13' (https://github.com/pyenv/pyenv) or your OS package
  (apt install python3.10 python3.10-venv), or point PYTHON310=/path/to/python3.10 at one."
PY311=$(find_python 3.11 "${PYTHON311:-}") || die "Python 3.11 was not found (the action server, KB index and handoff API use it).
  Install it with 'pyenv install 3.11' or your OS package, or set PYTHON311=/path/to/python3.11."

mkdir -p .venv
case "${1:-all}" in
  bot) ensure_env bot "$PY310" bot requirements/bot.lock ;;
  app) ensure_env app "$PY311" app requirements/app.lock ;;
  all) ensure_env bot "$PY310" bot requirements/bot.lock; ensure_env app "$PY311" app requirements/app.lock ;;
  *) die "usage: $0 [bot|app|all]" ;;
esac
