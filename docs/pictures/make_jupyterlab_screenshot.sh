#!/usr/bin/env bash
# How docs/pictures/jupyterlab-lesson-03.png was made: lesson 3 converted (lab convert), executed by
# nbclient on the nstlab kernel, opened in JupyterLab on loopback and photographed by headless Chromium.
# Needs: Tests/Jupyter/run once (the venv and the kernelspec), `pip install jupyterlab` into that venv,
# and Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.build/jupyter-venv
work=$(mktemp -d)
.build/release/lab convert lessons/03-the-gram-matrix.md "$work/03-the-gram-matrix.ipynb"
JUPYTER_PATH="$PWD/$venv/share/jupyter" "$venv/bin/python" - "$work/03-the-gram-matrix.ipynb" "$PWD" <<'PY'
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, kernel_name="nstlab", timeout=600, resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[1])
PY
# No news pop-up in the picture.
mkdir -p "$venv/share/jupyter/lab/settings"
echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > "$venv/share/jupyter/lab/settings/overrides.json"
JUPYTER_PATH="$PWD/$venv/share/jupyter" "$venv/bin/jupyter" lab --no-browser --allow-root --ip=127.0.0.1 --port=8899 \
    --ServerApp.token='' --ServerApp.password='' --ServerApp.root_dir="$work" > "$work/jupyter.log" 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 8
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1300,1700 --virtual-time-budget=25000 \
    --screenshot="$PWD/docs/pictures/jupyterlab-lesson-03.png" "http://127.0.0.1:8899/lab/tree/03-the-gram-matrix.ipynb"
