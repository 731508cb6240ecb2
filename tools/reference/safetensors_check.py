#!/usr/bin/env python3
"""Interoperability of mltc's safetensors code with the reference implementation.

    pip install safetensors numpy     # (see tools/reference/requirements.txt)
    python3 tools/reference/safetensors_check.py check FILE   # FILE was written by mltc
    python3 tools/reference/safetensors_check.py write FILE   # write a file for mltc to read

tests/test_safetensors.c runs both when Python has the packages. The tensors are fixed here
and in the test: both sides must agree on them.
  check: "a.weight" F32 [2,3] = arange(6) * 0.5 - 1, "ids" I32 [4] = [-2, 0, 7, 2147483647],
         "empty" F32 [0,5], metadata {"format": "pt", "note": "written by mltc"}.
  write: "half" F16 [2,2] = [[1, -2], [0.5, 65504]], "wide" F64 [3] = [0.25, -1e-3, 3],
         "count" I64 [2] = [5, -7], metadata {"by": "python"}.
Exit status: 0 good, 1 mismatch, 77 the packages are missing.
"""
import sys

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file
except ImportError as e:  # the C test reports this as a skip, not a pass
    print("safetensors or numpy missing: %s" % e)
    sys.exit(77)


def check(path):
    got = load_file(path)
    want = {
        "a.weight": (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3),
        "ids": np.array([-2, 0, 7, 2147483647], dtype=np.int32),
        "empty": np.zeros((0, 5), dtype=np.float32),
    }
    bad = []
    if sorted(got) != sorted(want):
        bad.append("tensors %s, expected %s" % (sorted(got), sorted(want)))
    for k, w in want.items():
        g = got.get(k)
        if g is not None and (g.dtype != w.dtype or g.shape != w.shape or not np.array_equal(g, w)):
            bad.append("%s: got %s %s %s, expected %s %s %s" % (k, g.dtype, g.shape, g.ravel()[:6], w.dtype, w.shape, w.ravel()[:6]))
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    if meta != {"format": "pt", "note": "written by mltc"}:
        bad.append("metadata %r" % (meta,))
    for b in bad:
        print("MISMATCH " + b)
    print("python safetensors read %s: %s" % (path, "ok" if not bad else "%d problems" % len(bad)))
    return 1 if bad else 0


def write(path):
    save_file(
        {
            "half": np.array([[1, -2], [0.5, 65504]], dtype=np.float16),
            "wide": np.array([0.25, -1e-3, 3], dtype=np.float64),
            "count": np.array([5, -7], dtype=np.int64),
        },
        path,
        metadata={"by": "python"},
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "write"):
        print(__doc__)
        sys.exit(2)
    sys.exit(check(sys.argv[2]) if sys.argv[1] == "check" else write(sys.argv[2]))
