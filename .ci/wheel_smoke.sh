#!/usr/bin/env bash
# What a user gets from `pip install ganviz`: build the wheel and the sdist, install the wheel into a fresh
# virtual environment, and use it from a folder outside the checkout (no assets/ or ganviz/ beside it).
# Checks: the sdist carries tests, docs, assets and LICENSE; `ganviz --version`, `ganviz list` (names the
# shipped scenes), a preset's headless run, `record --preset`, `reproduce --data ring8` (its base scenes), a
# preset's offscreen screenshot, the window's icon.
# Usage: .ci/wheel_smoke.sh   (needs `build`: pip install build; about a minute, most of it pip)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/ganviz-wheel-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT
say() { echo "wheel smoke [${SECONDS}s]: $*"; }

say "building the sdist and the wheel"
python3 -m build --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/ganviz-*.whl)
sdist=$(ls "$work"/dist/ganviz-*.tar.gz)
tar tzf "$sdist" >"$work/sdist.txt"
for f in LICENSE README.md tests/conftest.py tests/core/test_packaging.py docs/CLASSROOM.md \
         assets/scenes/digits-dcgan.toml assets/icons/ganviz.png assets/ganviz.desktop; do
  grep -q "^ganviz-[^/]*/$f\$" "$work/sdist.txt" || { say "FAIL: the sdist lacks $f"; exit 1; }
done
python3 -c "import sys, zipfile; sys.exit('ganviz/assets/scenes/digits-dcgan.toml' not in zipfile.ZipFile(sys.argv[1]).namelist())" \
  "$wheel" || { say "FAIL: the wheel lacks the scenes"; exit 1; }

say "installing $(basename "$wheel") into a fresh virtual environment"
if python3 -m venv "$work/venv" >/dev/null 2>&1; then
  pip=("$work/venv/bin/python" -m pip)
else  # no ensurepip (Debian without python3-venv): a venv without pip, filled by this pip (>= 22.3)
  rm -rf "$work/venv"
  python3 -m venv --without-pip "$work/venv"
  pip=(python3 -m pip --python "$work/venv/bin/python")
fi
"${pip[@]}" install -q --disable-pip-version-check "torch==2.13.0" "$wheel" 2>&1 | grep -v "^WARNING: Location" || true
"$work/venv/bin/python" -c "import ganviz" || { say "FAIL: the wheel did not install"; exit 1; }

mkdir "$work/elsewhere"
cd "$work/elsewhere"  # not the checkout: nothing can be found by accident beside the working folder
export PATH="$work/venv/bin:$PATH" QT_QPA_PLATFORM=offscreen GANVIZ_CACHE_DIR="$work/cache"
unset PYTHONPATH

say "$(ganviz --version) from $(command -v ganviz)"
ganviz list >list.txt
grep -q "digits-dcgan" list.txt || { say "FAIL: ganviz list names no shipped scene"; cat list.txt; exit 1; }

say "headless run of a preset"
ganviz train --preset ring-collapse-basic --steps 4 --every 2 --quiet --out train.jsonl
test "$(wc -l <train.jsonl)" -eq 2 || { say "FAIL: expected 2 JSON lines"; cat train.jsonl; exit 1; }
ganviz train --preset digits-dcgan --steps 2 --every 2 --quiet --out digits.jsonl
grep -q '"step": 2' digits.jsonl || { say "FAIL: the image preset did not train"; exit 1; }

say "a preset recorded offscreen, and reproduce's base scenes"
ganviz record --preset dirac-gan --steps 20 --every 10 --view data --size 320x240 --quiet -o dirac.gif
python -c "from PIL import Image; assert Image.open('dirac.gif').n_frames >= 2"
ganviz reproduce --data ring8 --methods gan --seeds 1 --steps 20 --jobs 1 --quiet --out repro.md >/dev/null
grep -q '^| ring8 | gan | 20 | 1 |' repro.md && test "$(wc -l <repro.jsonl)" -eq 1 \
  || { say "FAIL: reproduce wrote no table row or JSON line"; cat repro.md; exit 1; }

say "offscreen screenshot of a preset"
ganviz --preset dirac-gan --screenshot shot.png --after 2
cp shot.png "${GANVIZ_SMOKE_SHOT:-/dev/null}"
python - <<'PY'
from PIL import Image
w, h = Image.open("shot.png").size
assert w >= 800 and h >= 500, (w, h)
print(f"wheel smoke: screenshot {w}x{h}")
PY

say "the window's icon"
python - <<'PY'
from ganviz.qt.app import make_app
from ganviz.qt.main_window import MainWindow
from ganviz.resources import icon_paths

paths = icon_paths()
assert paths and all(p.is_file() and "site-packages" in str(p) for p in paths), paths
app = make_app()
window = MainWindow(autostart=False)
assert not window.windowIcon().isNull(), "the window has no icon"
window.shutdown()
print(f"wheel smoke: icon {paths[0]}")
PY
say "OK"
