#!/usr/bin/env bash
# Install benchwatch (this action's own checkout, GITHUB_ACTION_PATH) into a venv under
# RUNNER_TEMP that actions/cache keeps between runs, and put it on PATH for later steps.
# Input: INPUT_PYTHON (validated below: a command name or path, nothing else).
set -euo pipefail
python_cmd="${INPUT_PYTHON:-python3}"
if [[ ! "$python_cmd" =~ ^[A-Za-z0-9._/-]+$ ]]; then
  echo "::error title=benchwatch::input 'python' must be a command name or path" >&2
  exit 2
fi
venv="${RUNNER_TEMP:?RUNNER_TEMP is not set}/benchwatch-venv"
stamp="$venv/.benchwatch-installed"
want="$(cd "$GITHUB_ACTION_PATH" && (git rev-parse HEAD 2>/dev/null || sha256sum pyproject.toml | cut -c1-40))"
if [[ ! -x "$venv/bin/benchwatch" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  "$python_cmd" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "$GITHUB_ACTION_PATH[toolkit]"
  echo "$want" > "$stamp"
fi
echo "$venv/bin" >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
"$venv/bin/benchwatch" --version
