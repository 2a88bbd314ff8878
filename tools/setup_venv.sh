#!/usr/bin/env bash
# Create (once) the project's virtual environment .venv in the repository and
# install cavsync_mm into it with the tested versions of requirements/*.txt.
# Nothing is installed into the system Python. Used by tools/run_tests.sh and
# tools/quickstart.sh; prints the venv's python on its last line.
#
# Environment:
#   CAVSYNC_VENV      where the venv goes (default: <repo>/.venv)
#   PYTHON            the interpreter that creates it (default: python3; >= 3.10)
#   TORCH_INDEX_URL   an index serving CPU wheels of torch, e.g.
#                     https://download.pytorch.org/whl/cpu . Without it torch comes
#                     from PyPI, which serves only the CUDA build for Linux (about
#                     2.7 GB of nvidia-* packages; it runs on CPU all the same).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${CAVSYNC_VENV:-$PWD/.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
        echo "cavsync_mm needs Python >= 3.10 ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
        exit 1
    }
    "$PYTHON" -m venv "$VENV" >&2
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)
stamp="$VENV/.cavsync_requirements"
wanted="$(cat setup.py requirements/*.txt | sha1sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "installing cavsync_mm and its tested dependencies into $VENV ..." >&2
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        "${PIP[@]}" install --index-url "$TORCH_INDEX_URL" \
            $(grep -E '^torch(audio|vision)?==' requirements/runtime.txt) >&2
    fi
    # mmaction2 comes without its dependencies (installed here from
    # runtime.txt): it asks for opencv-contrib-python, while mmengine asks for
    # opencv-python, and two OpenCV distributions overwrite each other's cv2.
    grep -v '^mmaction2' requirements/mminstall.txt > "$VENV/mminstall-no-mmaction.txt"
    # openmim likewise (requirements/tests.txt says why)
    grep -v '^openmim' requirements/tests.txt > "$VENV/tests-no-openmim.txt"
    "${PIP[@]}" install setuptools wheel >&2
    "${PIP[@]}" install -r requirements/runtime.txt \
        -r "$VENV/mminstall-no-mmaction.txt" -r "$VENV/tests-no-openmim.txt" \
        -r requirements/optional.txt -r requirements/demo.txt >&2
    "${PIP[@]}" install --no-deps "$(grep '^mmaction2' requirements/mminstall.txt)" \
        "$(grep '^openmim' requirements/tests.txt)" >&2
    echo "(pip's note that mmaction2 lacks opencv-contrib-python is expected: one OpenCV, see above)" >&2
    # --no-build-isolation: setup.py needs only setuptools, installed above
    "${PIP[@]}" install --no-deps --no-build-isolation -e . >&2
    echo "$wanted" > "$stamp"
fi
echo "$VENV/bin/python"
