#!/bin/sh
# Xinh's run-time install, shared by docker/Dockerfile and docker/check_runtime.sh.
# A fresh virtual environment gets the project's wheel, whose metadata carries pyproject's
# [project].dependencies (the one run-time install list) and carries the model files.
# The base interpreter's pip does the installing, so the environment holds no pip or setuptools;
# bytecode is compiled ahead (the image's user cannot write it), skipping bundled test suites.
# Usage: install-runtime.sh SOURCE_DIR VENV_DIR
set -eu
source_dir=$1
venv=$2

venv_pip() { python3 -m pip --python "$venv/bin/python" "$@"; }

python3 -m venv --without-pip "$venv"
wheels=$(mktemp -d)
venv_pip wheel --quiet --no-deps --wheel-dir "$wheels" "$source_dir"
venv_pip install --quiet --no-compile "$wheels"/xinh-*.whl
rm -rf "$wheels"
site_packages=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
"$venv/bin/python" -m compileall -q -j 0 --invalidation-mode unchecked-hash \
    -x '/tests?/' "$site_packages" >/dev/null
