#!/usr/bin/env bash
# What CI can check of the container image without a Docker engine:
#  1. the recipe (docker/check_dockerfile.py): the run-time install list is pyproject's
#     dependencies, without TensorFlow, extras or compilers, run by a non-root user;
#  2. the image's install (docker/install-runtime.sh) in a fresh virtual environment: `xinh --help`
#     starts, the bots import, TensorFlow is neither installed nor imported, and
#     `xinh analyze --json`, run from another folder, rates the test photo with the model files
#     the wheel installed (no XINH_MODELS_DIR: the package carries them).
#  3. the install's size (site-packages), against a budget.
# Usage: docker/check_runtime.sh   (exit status 1 on any failure; about half a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=/tmp/xinh-runtime-venv
budget_mb=400

fail() {
  echo "check_runtime: FAILED: $*" >&2
  exit 1
}

python3 docker/check_dockerfile.py || fail "the Dockerfile recipe (see above)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Build from a copy of what the image copies, so the checkout gets no build/ or egg-info.
folders=$(python3 -c 'import tomllib
setup = tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]
print(*sorted({"xinh", *setup["package-dir"].values()}))')
mkdir "$work/src"
# shellcheck disable=SC2086  # one word per folder
cp -r pyproject.toml README.md $folders "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$venv"
sh docker/install-runtime.sh "$work/src" "$venv" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "installing into $venv"; }

cd "$work"  # away from the checkout: only the installed packages can be imported
site_packages_dir=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
[ ! -d "$site_packages_dir/training" ] && [ ! -d "$site_packages_dir/inference" ] \
  || fail "the wheel installs training/ or top-level modules besides xinh"
"$venv/bin/xinh" --help >/dev/null || fail "xinh --help"
echo "check_runtime: xinh --help starts"

tensorflow=$("$venv/bin/python" -c 'import importlib.metadata as m
print(*sorted({d.metadata["Name"] for d in m.distributions()
               if d.metadata["Name"].lower().startswith(("tensorflow", "tf-", "tf_", "keras"))}))')
[ -z "$tensorflow" ] || fail "TensorFlow packages installed: $tensorflow"
echo "check_runtime: no TensorFlow installed"

"$venv/bin/python" -c 'import sys, xinh.bots.telegram_bot, xinh.bots.discord_bot, xinh.bots.demo
sys.exit(any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules))' \
  || fail "importing the bots with the run-time dependencies alone"
echo "check_runtime: the bots import with the run-time dependencies alone, without TensorFlow"

[ -f "$site_packages_dir/xinh/models/xinh-face.json" ] \
  && [ -f "$site_packages_dir/xinh/models/blazeface/face_detection_short_range.tflite" ] \
  || fail "the wheel installed no model files: the image would ship without them"
PYTHONPROFILEIMPORTTIME=1 \
  "$venv/bin/xinh" analyze "$root/tests/data/astronaut.jpg" --json \
  >"$work/analyze.json" 2>"$work/imports.log" \
  || { grep -v '^import time:' "$work/imports.log" >&2; fail "xinh analyze"; }
! grep -Eq '\| +(tensorflow|keras)' "$work/imports.log" || fail "xinh analyze imported TensorFlow"
"$venv/bin/python" - "$work/analyze.json" <<'EOF' || fail "xinh analyze --json output"
import json, sys
record = json.loads(open(sys.argv[1]).read())
assert record["outcome"] in ("rated", "male") and record["faces"] and record["message"], record
face = record["faces"][0]
print(f"check_runtime: xinh analyze answers the astronaut: {record['outcome']} "
      f"(female probability {face['female_probability']}), imported no TensorFlow")
EOF

site_packages=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
size_mb=$(du -sm "$site_packages" | cut -f1)
# awk, not head, takes the first five: head exiting early would kill sort with SIGPIPE (pipefail).
largest=$(du -sm "$site_packages"/* | sort -rn \
  | awk -F'\t' 'NR <= 5 {sub(".*/", "", $2); printf "%s %s MB, ", $2, $1}')
echo "check_runtime: run-time install size: ${size_mb} MB of site-packages (budget ${budget_mb} MB)"
echo "check_runtime: largest: ${largest%, }"
[ "$size_mb" -le "$budget_mb" ] || fail "the run-time install outgrew its ${budget_mb} MB budget"
echo "check_runtime: ok"
