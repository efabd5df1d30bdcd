#!/usr/bin/env bash
# Creates (or reuses) the Python virtualenv .venv/NAME with the pinned
# packages of scripts/requirements/NAME.txt, and prints its python path.
#
#   scripts/venv.sh ml          reference libraries, the pandas peer
#   scripts/venv.sh aws         moto server, cfn-lint
#   scripts/venv.sh warehouse   fakesnow server
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: scripts/venv.sh ml|aws|warehouse}
req="$root/scripts/requirements/$name.txt"
[[ -f "$req" ]] || { echo "scripts/venv.sh: no $req" >&2; exit 2; }
venv="$root/.venv/$name"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "scripts/venv.sh: installing $req into .venv/$name" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
