#!/usr/bin/env python3
"""Runs mltc and PyTorch side by side and prints one markdown report.

Speed (always): `mltc bench --json` on each --backends entry and tools/reference/torch_bench.py,
at each --configs shape, with the same seq, batch, steps and warm-up; the ratio is mltc / PyTorch
(above 1: mltc is faster). A cpu backend is compared with PyTorch on the CPU (both with
--threads threads); other backends with PyTorch on --torch-gpu when given, else not compared.

Quality (--quality): `mltc train` + `mltc eval --json` and tools/reference/torch_reference.py per
--heads on a dataset folder (--data: Reuters by default, or SemEval E-c's tsv files) with the
given model, for each of --seeds: mean micro-F1 and Hamming loss beside each other, the spread
over the seeds, and each seed's figures. On a CPU the full run takes hours per head; --results DIR
keeps every finished run and reuses it next time (same settings only), so a long comparison can be
stopped, resumed, and given more seeds; an unfinished run's training state stays in DIR/work
(both sides checkpoint every --save-every steps and on SIGTERM), so even a killed run goes on
from its last save, with the same steps as if it had never stopped; with --sides, two processes sharing that folder train the
two sides at once (on 2 cores, two 1-thread mltc runs side by side finished 1.2-1.7 times the runs
an hour of one 2-thread run: SemEval bert 490 s each against 424 s, lam 619 against 372, LM-MTC
1,880 against 1,258). --limit N trains and tests on the first N examples of each file only (a
smoke test of the comparison, not a quality figure). Training recipe v1's flags (--head-lr,
--label-bias, --pooling, --dev-split, --patience, --tune-threshold, --min-labels) go to both sides
with the same values when given (each side's default otherwise); --papers-recipe sets the papers'
recipe on both; --with-dev gives both the dataset's dev file (SemEval's dev.tsv) as --dev.

    python compare.py --mltc ../../build/mltc --configs minilm,base --seq 128 --batch 8 --threads 2
    python compare.py --mltc ../../build/mltc --quality --limit 64 --epochs 1 --heads bert
    python compare.py --no-speed --quality --heads bert --threads 1 --results runs/r --sides mltc &
    python compare.py --no-speed --quality --heads bert --threads 1 --results runs/r --sides torch
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from textfile import data_dir, data_file, open_text, plain_name  # noqa: E402


STOPPING, CHILD = [], []  # a SIGTERM arrived; the child running now


def on_sigterm(sig, frame):
    """Passes SIGTERM on to the running child (training children then write their checkpoint
    and stop) and lets run() wait for it: dying first would close the pipes the child writes
    its progress to, and kill it before it saves."""
    STOPPING.append(sig)
    for child in CHILD:
        try:
            child.send_signal(signal.SIGTERM)
        except OSError:
            pass


def run(cmd, env=None, timeout=None):
    """Runs cmd; returns (stdout, None) or (None, a short reason). Exits once cmd is done when a
    SIGTERM came meanwhile."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    CHILD[:] = [p]
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None, f"timed out after {timeout} s"
    finally:
        CHILD.clear()
    if STOPPING:
        sys.exit("compare: stopped by SIGTERM (" + (err.strip().splitlines() or ["-"])[-1][:200] + ")")
    if p.returncode < 0:  # a signal: its last line says nothing about why (SIGKILL: the OOM killer?)
        sig = -p.returncode
        return None, f"killed by signal {sig}" + (" (SIGKILL: out of memory?)" if sig == signal.SIGKILL else "")
    if p.returncode != 0:
        last = (err.strip().splitlines() or ["exit code %d" % p.returncode])[-1]
        return None, last[:200]
    return out, None


def thread_env(threads):
    env = dict(os.environ)
    if threads > 0:
        env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def mltc_env(threads):
    """thread_env plus what mltc's README asks for: idle OpenMP threads that spin take the cores
    OpenBLAS needs."""
    env = thread_env(threads)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    return env


def machine(args):
    lines = [f"- host: {platform.node()}, {platform.system()} {platform.release()}"]
    try:
        model = [l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True)
                 .stdout.splitlines() if l.startswith("Model name")]
        lines.append(f"- CPU: {model[0] if model else '?'}, nproc {os.cpu_count()}")
    except OSError:
        lines.append(f"- nproc {os.cpu_count()}")
    out, _ = run([args.mltc, "devices"], env=mltc_env(args.threads))
    if out:
        for l in out.splitlines():
            if "OpenMP threads" in l or (l and not l.startswith(" ")):
                lines.append("- mltc device: " + " ".join(l.split()))
    lines.append(f"- OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
                 f"threads {args.threads or 'default'}")
    try:
        load = os.getloadavg()
        lines.append(f"- load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    except OSError:
        pass
    return lines


# ---- speed ---------------------------------------------------------------------------------------

def precision_args(args):
    """mltc's --precision, when one was asked for (bf16: mixed precision)."""
    return ["--precision", args.mltc_precision] if args.mltc_precision else []


def mltc_bench(args, binary, backend, config):
    cmd = [binary, "bench", "--device", backend, "--config", config, "--seq", str(args.seq), "--batch",
           str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup), "--json",
           "--pooling", "cls"] + precision_args(args)  # torch_bench.py's head reads [CLS]: like for like
    out, why = run(cmd, env=mltc_env(args.threads), timeout=args.timeout)
    return (json.loads(out), None) if out else (None, why)


def medianed(results):
    """One result with the median train and inference rates of several runs (the rest from the first);
    the individual rates are kept under "runs"."""
    ok = [r for r in results if r]
    if not ok:
        return None
    m = dict(ok[0])
    for k in ("train_seq_per_s", "infer_seq_per_s"):
        m[k] = statistics.median(r[k] for r in ok)
    m["runs"] = [{k: r[k] for k in ("train_seq_per_s", "infer_seq_per_s")} for r in ok]
    return m


def torch_bench(args, device, config):
    cmd = [sys.executable, os.path.join(HERE, "torch_bench.py"), "--device", device, "--config", config, "--seq",
           str(args.seq), "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--threads", str(args.threads), "--json"]
    # On the CPU PyTorch runs autocast only beside mltc's own bf16 (like for like).
    if args.autocast and (device != "cpu" or args.mltc_precision == "bf16"):
        cmd += ["--autocast", args.autocast]
    out, why = run(cmd, timeout=args.timeout)
    return (json.loads(out), None) if out else (None, why)


def fmt(v, digits=2, sign=""):
    return "—" if v is None else f"{v:{sign}.{digits}f}"


def speed(args, log):
    rows, raw = [], []
    torch_cache = {}
    for config in args.configs.split(","):
        for backend in args.backends.split(","):
            tdev = "cpu" if backend == "cpu" else args.torch_gpu
            # mltc and PyTorch take turns, --repeat times each, so a slow spell of a shared machine
            # falls on both sides; the table gives the median rate of each side.
            # With several --mltc builds, each takes its turn too.
            mres, tres, whys, twhy = {b: [] for b in args.mltcs}, [], {}, "no PyTorch device given"
            for _ in range(args.repeat):
                for binary in args.mltcs:
                    m1, why1 = mltc_bench(args, binary, backend, config)
                    log(f"mltc bench {binary} {backend} {config}: {'ok' if m1 else why1}")
                    mres[binary].append(m1)
                    whys.setdefault(binary, why1)
                if tdev and (tdev, config) not in torch_cache:
                    t1, twhy = torch_bench(args, tdev, config)
                    log(f"torch_bench {tdev} {config}: {'ok' if t1 else twhy}")
                    tres.append(t1)
            if tdev:
                if (tdev, config) not in torch_cache:
                    torch_cache[(tdev, config)] = (medianed(tres), twhy)
                t, twhy = torch_cache[(tdev, config)]
                twhy = None if t else twhy
            else:
                t = None
            for binary in args.mltcs:
                m = medianed(mres[binary])
                why = None if m else whys.get(binary)
                raw.append({"config": config, "backend": backend, "mltc_binary": binary, "mltc": m,
                            "mltc_error": why, "torch": t, "torch_error": twhy})
                rows.append(speed_row(args, config, backend, blas_of(args, binary, backend), m, why, t))
    head = ["| shape | seq x batch | mltc backend | mltc train seq/s | PyTorch | PyTorch train seq/s | ratio | "
            "mltc infer seq/s | PyTorch infer seq/s | ratio | mltc peak MiB | mltc train split mm / attn / ln / other |",
            "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    return head + rows, raw


def speed_runs(raw):
    """The single runs behind the medians (train / infer seq/s), in the order they ran: one row per
    shape, backend and turn, one column per mltc build and one for PyTorch."""
    def pair(r):
        return f"{r['train_seq_per_s']:.2f} / {r['infer_seq_per_s']:.2f}"

    groups = {}
    for e in raw:
        groups.setdefault((e["config"], e["backend"]), []).append(e)
    binaries = list(dict.fromkeys(e["mltc_binary"] for e in raw))
    lines = ["| shape | mltc backend | run | " + " | ".join(f"mltc {b}" for b in binaries) + " | PyTorch |",
             "|---|---|---:|" + "---|" * (len(binaries) + 1)]
    for (config, backend), entries in groups.items():
        by_bin = {e["mltc_binary"]: (e["mltc"] or {}).get("runs", []) for e in entries}
        truns = (entries[0]["torch"] or {}).get("runs", [])
        for i in range(max([len(v) for v in by_bin.values()] + [len(truns)])):
            cells = [pair(by_bin[b][i]) if i < len(by_bin.get(b, [])) else "—" for b in binaries]
            cells.append(pair(truns[i]) if i < len(truns) else "—")
            lines.append(f"| {config} | {backend} | {i + 1} | " + " | ".join(cells) + " |")
    return lines


def blas_of(args, binary, backend):
    """"cpu (oneMKL)" when several builds are compared, else the backend alone."""
    if len(args.mltcs) < 2 or backend != "cpu":
        return backend
    out, _ = run([binary, "devices"], env=mltc_env(args.threads))
    for line in (out or "").splitlines():
        if line.strip().startswith("driver") and "OpenMP + " in line:
            return f"cpu ({line.split('OpenMP + ', 1)[1].strip()})"
    return f"cpu ({binary})"


def speed_row(args, config, backend, label, m, why, t):
    mt = m["train_seq_per_s"] if m else None
    mi = m["infer_seq_per_s"] if m else None
    tt = t["train_seq_per_s"] if t else None
    ti = t["infer_seq_per_s"] if t else None
    split = "—"
    if m:
        s = m["split"]
        split = f"{s['matmul']:.0%} / {s['attention']:.0%} / {s['layernorm']:.0%} / {s['other']:.0%}"
    if m and m.get("precision", "fp32") != "fp32":
        label = f"{label} {m['precision']}"
    label = label if m else f"{label} (failed: {why})"
    tlabel = (t["device"] + (f" {t['autocast']}" if t and t["autocast"] != "off" else "")) if t else "—"
    return (f"| {config} | {args.seq} x {args.batch} | {label} | {fmt(mt)} | {tlabel} | {fmt(tt)} | "
            f"{fmt(mt / tt if mt and tt else None)} | {fmt(mi)} | {fmt(ti)} | {fmt(mi / ti if mi and ti else None)} | "
            f"{fmt(m['peak_bytes'] / 2**20, 0) if m else '—'} | {split} |")


# ---- quality -------------------------------------------------------------------------------------

def dataset_files(data):
    """(train, test, labels or None) of a dataset folder: Reuters' train/test.jsonl + labels.txt or
    SemEval's train/test.tsv (tsv-columns: the labels come from the header), each plain or .gz."""
    for ext in ("jsonl", "tsv"):
        train, test = data_file(os.path.join(data, f"train.{ext}")), data_file(os.path.join(data, f"test.{ext}"))
        if os.path.exists(train) and os.path.exists(test):
            labels = data_file(os.path.join(data, "labels.txt"))
            return train, test, labels if os.path.exists(labels) else None
    sys.exit(f"compare: {data} holds neither train.jsonl + test.jsonl nor train.tsv + test.tsv (or .gz)")


def dev_file(data):
    """DATA/dev.jsonl or DATA/dev.tsv (SemEval E-c has one)."""
    for ext in ("jsonl", "tsv"):
        path = os.path.join(data, f"dev.{ext}")
        if os.path.exists(path):
            return path
    sys.exit(f"compare: --with-dev, but {data} holds no dev.jsonl or dev.tsv")


def head_slice(src, dst, limit, header):
    with open_text(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if limit and i >= limit + header:
                break
            g.write(line)


def mean(values):
    return statistics.mean(values) if values and None not in values else None


def stdev(values):  # like mean: None unless every value is there (and two at least)
    return statistics.stdev(values) if len(values) > 1 and None not in values else None


def field(r, k):  # one figure of a run, None for a failed run
    return r[k] if r else None


# Training recipe v1 (issue 21): flags with the same name on both sides, passed only when given
# (each side's default otherwise); --pooling goes to the bert head only.
RECIPE = (("lr", "--lr"), ("head_lr", "--head-lr"), ("label_bias", "--label-bias"), ("pooling", "--pooling"),
          ("dev_split", "--dev-split"), ("patience", "--patience"), ("tune_threshold", "--tune-threshold"),
          ("min_labels", "--min-labels"))


def recipe_args(args, head):
    out = []
    for key, flag in RECIPE:
        value = getattr(args, key)
        if value is not None and (key != "pooling" or head == "bert"):
            out += [flag, str(value)]
    return out


def run_settings(args, side, head, seed, train, test, max_len):
    """What decides a quality run's result: a stored result is reused only when all of it matches."""
    device = args.quality_device if side == "mltc" else args.torch_quality_device
    s = {"side": side, "head": head, "seed": seed, "train": os.path.realpath(train),
         "test": os.path.realpath(test), "limit": args.limit, "model": os.path.realpath(args.model),
         "epochs": args.epochs, "batch": args.train_batch, "max_len": max_len, "device": device}
    if side == "mltc" and args.mltc_precision:  # only when set, so fp32 runs stored before still match
        s["precision"] = args.mltc_precision
    for key, _ in RECIPE:  # likewise: runs stored before the recipe flags still match without them
        if getattr(args, key) is not None and (key != "pooling" or head == "bert"):
            s[key] = getattr(args, key)
    if args.with_dev:
        s["dev"] = os.path.realpath(args.with_dev)
    return s


def stored_path(args, settings):
    return os.path.join(args.results, f"{settings['side']}-{settings['head']}-seed{settings['seed']}.json")


def load_stored(args, settings):
    """The stored result of a run with exactly these settings, or None."""
    if not args.results:
        return None
    try:
        with open(stored_path(args, settings), encoding="utf-8") as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    return rec.get("result") if rec.get("settings") == settings else None


def store(args, settings, result):
    """Writes a finished run (atomically: a killed run never leaves half a file) so that a later
    compare.py with the same --results folder reuses it instead of training again."""
    if not args.results:
        return
    os.makedirs(args.results, exist_ok=True)
    path = stored_path(args, settings)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"settings": settings, "result": result}, f, indent=2)
    os.replace(path + ".tmp", path)


def work_dir(args, settings, tmp):
    """The folder a quality run trains in, and whether it holds an earlier start of the same run.
    With --results it is results/work/SIDE-HEAD-seedN and outlives the process: both sides
    checkpoint there every --save-every steps (and on SIGTERM), so a killed comparison goes on
    from the last save; a folder left by a run with other settings is cleared. Without
    --results, a fresh folder under tmp."""
    name = f"{settings['side']}-{settings['head']}-seed{settings['seed']}"
    if not args.results:
        d = os.path.join(tmp, name)
        os.makedirs(d, exist_ok=True)
        return d, False
    d = os.path.join(args.results, "work", name)
    path = os.path.join(d, "settings.json")
    try:
        with open(path, encoding="utf-8") as f:
            if json.load(f) == settings:
                return d, True
    except (OSError, ValueError):
        pass
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(settings, f, indent=2)
    os.replace(path + ".tmp", path)
    return d, False


def save_args(args):
    """Both sides' periodic checkpoints: only where a later process can go on from them."""
    return ["--save-every", str(args.save_every)] if args.results and args.save_every else []


def train_mltc(args, head, seed, train, test, label_args, common, work, resume):
    """mltc train into work/out (resumed from work/out/last when the run started before), then
    mltc eval of its best checkpoint on the test set."""
    out, trained = os.path.join(work, "out"), os.path.join(work, "trained")
    if not os.path.exists(trained):
        if resume and os.path.isdir(os.path.join(out, "last")):
            cmd = [args.mltc, "train", "--resume", "--train", train, "--out", out] + label_args
        else:
            shutil.rmtree(out, ignore_errors=True)
            cmd = [args.mltc, "train", "--model", args.model, "--train", train, "--out", out] + label_args + common
        # (Killed after its last save but before `trained` is written, the resumed run has nothing
        # left to do: mltc train --resume then succeeds without training.)
        _, why = run(cmd + ["--device", args.quality_device] + precision_args(args) + save_args(args),
                     env=mltc_env(args.threads))
        if why:
            return None, why
        open(trained, "w").close()  # a kill during the scoring below does not train again
    res, why = run([args.mltc, "eval", "--checkpoint", os.path.join(out, "best"), "--data", test,
                    "--device", args.quality_device, "--json"] + precision_args(args), env=mltc_env(args.threads))
    return (json.loads(res) if res else None), why


def train_torch(args, head, seed, train, test, label_args, common, work, resume):
    """torch_reference.py with its training state in work/state.pt (it resumes from there)."""
    state = os.path.join(work, "state.pt")
    if not resume and os.path.exists(state):
        os.remove(state)
    res, why = run([sys.executable, os.path.join(HERE, "torch_reference.py"), "--model", args.model,
                    "--train", train, "--test", test, "--threads", str(args.threads), "--device",
                    args.torch_quality_device, "--json", "--checkpoint", state] + save_args(args) + label_args + common)
    return (json.loads(res) if res else None), why


def quality(args, log):
    tmp = tempfile.mkdtemp(prefix="mltc-compare-")
    rows, per_seed, raw = [], [], []
    seeds = [int(x) for x in args.seeds.split(",")]
    try:
        train_full, test_full, labels = dataset_files(args.data)
        train, test = train_full, test_full
        if args.limit:
            header = 1 if plain_name(train).endswith(".tsv") and not labels else 0
            sliced = []
            # In --results the slices keep their paths from one process to the next, where a
            # resumed PyTorch run checks that it trains on the same file.
            where = os.path.join(args.results, "work", f"first-{args.limit}") if args.results else tmp
            os.makedirs(where, exist_ok=True)
            for path in (train, test):
                sliced.append(os.path.join(where, plain_name(path)))
                head_slice(path, sliced[-1], args.limit, header)
            train, test = sliced
        if args.with_dev:
            args.with_dev = dev_file(args.data)
            dev = args.with_dev
            if args.limit:
                dev = os.path.join(where, os.path.basename(dev))
                head_slice(args.with_dev, dev, args.limit, header)
        label_args = (["--labels", labels] if labels else []) + (["--dev", dev] if args.with_dev else [])
        sides = (("mltc", train_mltc, "mltc"), ("torch", train_torch, "torch_reference"))
        heads = args.heads.split(",")

        def max_len_of(head):
            return args.lmmtc_max_len if head == "lmmtc" else args.max_len

        # First every run this process makes (the sides in --sides that --results does not hold
        # yet), then the table from all of them: another process working on the other side with the
        # same --results folder has stored its runs by then if it finished first.
        done, errors = {}, {}
        for head in heads:
            max_len = max_len_of(head)
            for seed in seeds:
                common = ["--head", head, "--epochs", str(args.epochs), "--batch", str(args.train_batch),
                          "--max-len", str(max_len), "--seed", str(seed)] + recipe_args(args, head)
                for side, train_fn, name in sides:
                    if side not in args.sides:
                        continue
                    settings = run_settings(args, side, head, seed, train_full, test_full, max_len)
                    r = load_stored(args, settings)
                    if r:
                        log(f"{name} {head} seed {seed}: reused {stored_path(args, settings)}")
                        done[side, head, seed] = r
                        continue
                    t0 = time.time()
                    work, resume = work_dir(args, settings, tmp)
                    if resume:
                        log(f"{name} {head} seed {seed}: going on from {work}")
                    r, why = train_fn(args, head, seed, train, test, label_args, common, work, resume)
                    if r:
                        r["wall_s"] = time.time() - t0
                        if resume:  # the time of the earlier parts is not known here
                            r["resumed"] = True
                        store(args, settings, r)
                        shutil.rmtree(work, ignore_errors=True)
                    log(f"{name} {head} seed {seed}: {'ok' if r else why} ({time.time() - t0:.0f} s)")
                    done[side, head, seed], errors[side, head, seed] = r, why
        for head in heads:
            ms, ts = [], []
            for seed in seeds:
                got = {}
                for side, _, name in sides:
                    if (side, head, seed) in done:
                        got[side] = done[side, head, seed]
                        continue
                    settings = run_settings(args, side, head, seed, train_full, test_full, max_len_of(head))
                    got[side] = load_stored(args, settings)
                    if got[side]:
                        log(f"{name} {head} seed {seed}: reused {stored_path(args, settings)}")
                    else:
                        errors[side, head, seed] = ("not run here (--sides)" +
                                                    (" and not in --results yet" if args.results else ""))
                m, t = got["mltc"], got["torch"]
                raw.append({"head": head, "seed": seed, "mltc": m, "mltc_error": errors.get(("mltc", head, seed)),
                            "torch": t, "torch_error": errors.get(("torch", head, seed))})
                per_seed.append(f"| {head} | {seed} | {fmt(field(m, 'micro_f1'), 4)} | {fmt(field(t, 'micro_f1'), 4)} | "
                                f"{fmt(field(m, 'hamming_loss'), 5)} | {fmt(field(t, 'hamming_loss'), 5)} |")
                ms.append(m)
                ts.append(t)

            def avg(runs, k):  # None unless every seed's run succeeded
                return mean([field(r, k) for r in runs])

            def spread(runs):  # sample standard deviation of micro-F1 over the seeds, in points
                sd = stdev([field(r, "micro_f1") for r in runs])
                return fmt(sd * 100 if sd is not None else None, 2)

            def missing(side):  # why this head's runs of a side are missing, for the row's note
                return "; ".join(sorted({errors[side, head, x] for x in seeds if errors.get((side, head, x))}))

            ok_m, ok_t = all(ms), all(ts)
            n_train = next((t["n_train"] for t in ts if t), "—")
            n_test = next((r["n_examples"] for r in ms + ts if r), "—")
            mf, tf = avg(ms, "micro_f1"), avg(ts, "micro_f1")
            rows.append(f"| {head} | {n_train} | {n_test} | {len(seeds)} | {fmt(mf, 4)} | {fmt(tf, 4)} | "
                        f"{fmt((mf - tf) * 100 if mf is not None and tf is not None else None, 2, '+')} | "
                        f"{spread(ms)} | {spread(ts)} | "
                        f"{fmt(avg(ms, 'hamming_loss'), 5)} | {fmt(avg(ts, 'hamming_loss'), 5)} | "
                        f"{fmt(avg(ms, 'macro_f1'), 4)} | {fmt(avg(ts, 'macro_f1'), 4)} |"
                        + ("" if ok_m else f" mltc: {missing('mltc')}") + ("" if ok_t else f" PyTorch: {missing('torch')}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = ["| head | train examples | test examples | seeds | mltc micro-F1 | PyTorch micro-F1 | "
             "difference (points) | mltc sd (points) | PyTorch sd (points) | mltc Hamming | PyTorch Hamming | "
             "mltc macro-F1 | PyTorch macro-F1 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    seeds_table = ["| head | seed | mltc micro-F1 | PyTorch micro-F1 | mltc Hamming | PyTorch Hamming |",
                   "|---|---:|---:|---:|---:|---:|"]
    return table + rows + ["", "Each seed:", ""] + seeds_table + per_seed, raw


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mltc", default=os.path.join(ROOT, "build", "mltc"), help="the built mltc CLI; several, comma-separated (e.g. an "
                    "OpenBLAS and a oneMKL build), are each benchmarked in turn (the first runs the quality part)")
    ap.add_argument("--backends", default="cpu", help="comma-separated mltc devices (cpu,opencl,vulkan)")
    ap.add_argument("--mltc-precision", choices=["fp32", "bf16"], help="mltc's --precision for its bench, train "
                    "and eval runs (bf16: mixed precision, the oneMKL build); unset: mltc's default, fp32")
    ap.add_argument("--configs", default="minilm,base")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each side, taken in turns; the median is shown")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for both (0: each one's default)")
    ap.add_argument("--torch-gpu", help="PyTorch device to compare GPU backends with, e.g. cuda")
    ap.add_argument("--autocast", choices=["bf16", "fp16"], help="PyTorch autocast on the GPU (an extra, "
                    "non-fp32 figure: mltc runs fp32), and on the CPU with --mltc-precision bf16")
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--data", default=os.path.join(data_dir(), "reuters-modapte"))
    ap.add_argument("--heads", default="bert,lmmtc,lam")
    ap.add_argument("--limit", type=int, default=0, help="first N train and N test examples only")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train-batch", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--lmmtc-max-len", type=int, default=512, help="lmmtc needs 3K + 4 tokens at least")
    ap.add_argument("--seeds", default="42", help="comma-separated seeds; the table shows means over them")
    ap.add_argument("--lr", type=float, help="both sides: the encoder's peak learning rate (default: each side's, "
                    "1e-4; the papers' 5e-5)")
    ap.add_argument("--head-lr", type=float, help="recipe v1, both sides: the head's peak learning rate (0: --lr)")
    ap.add_argument("--label-bias", choices=["prior", "zero"], help="recipe v1, both sides: initial label biases")
    ap.add_argument("--pooling", choices=["cls", "mean"], help="recipe v1, both sides, bert head only")
    ap.add_argument("--dev-split", type=float, help="recipe v1, both sides: share of the training file held out "
                    "as dev (the same examples on both sides)")
    ap.add_argument("--patience", type=int, help="recipe v1, both sides: early stopping on dev micro-F1")
    ap.add_argument("--tune-threshold", choices=["none", "global", "per-label"], help="recipe v1, both sides")
    ap.add_argument("--min-labels", help="recipe v1, both sides: auto or N")
    ap.add_argument("--papers-recipe", action="store_true", help="the papers' recipe on both sides: --head-lr 0 "
                    "--label-bias zero --pooling cls --dev-split 0 --patience 0 --tune-threshold none --min-labels 0 "
                    "(a flag given beside it wins)")
    ap.add_argument("--with-dev", action="store_true", help="give both sides --data's dev file as --dev (instead "
                    "of a dev split)")
    ap.add_argument("--quality-device", default="cpu", help="mltc device for the quality runs")
    ap.add_argument("--torch-quality-device", default="cpu", help="PyTorch device for the quality runs")
    ap.add_argument("--json-out", help="also write every raw result to this file")
    ap.add_argument("--sides", default="mltc,torch", help="which sides this process trains (mltc, torch or "
                    "both); with --results, two processes, one per side, run a long comparison at once on "
                    "a machine with the cores for both, and the second to finish prints the whole table")
    ap.add_argument("--results", help="folder keeping each finished quality run (one JSON per side, head and "
                    "seed); a run whose stored settings match is reused, so an interrupted comparison "
                    "resumes and more seeds add to the ones run before")
    ap.add_argument("--save-every", type=int, default=50, help="with --results: steps between the training "
                    "checkpoints that let a killed quality run go on (0: epoch ends only)")
    args = ap.parse_args()
    if args.papers_recipe:
        for key, value in (("lr", 5e-5), ("head_lr", 0.0), ("label_bias", "zero"), ("pooling", "cls"), ("dev_split", 0.0),
                           ("patience", 0), ("tune_threshold", "none"), ("min_labels", "0")):
            if getattr(args, key) is None:
                setattr(args, key, value)
    signal.signal(signal.SIGTERM, on_sigterm)
    args.sides = args.sides.split(",")
    if any(x not in ("mltc", "torch") for x in args.sides):
        sys.exit(f"compare: --sides takes mltc, torch or mltc,torch, not {','.join(args.sides)}")
    args.mltcs = args.mltc.split(",")
    args.mltc = args.mltcs[0]
    for binary in args.mltcs:
        if not os.path.exists(binary):
            sys.exit(f"compare: no mltc CLI at {binary} (build it, or pass --mltc)")

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    out = ["## Machine", ""] + machine(args) + [""]
    raw = {}
    if not args.no_speed:
        lines, raw["speed"] = speed(args, log)
        arith = ("bf16 mixed precision: mltc --precision bf16" + (f", PyTorch autocast {args.autocast}"
                 if args.autocast else ", PyTorch fp32")) if args.mltc_precision == "bf16" else "fp32"
        out += [f"## Speed ({arith}, sequences/s; ratio = mltc / PyTorch)", "",
                f"steps {args.steps} timed after {args.warmup} warm-up, every sequence {args.seq} tokens, "
                f"random weights, bert head with 90 labels; each rate is the median of {args.repeat} run(s) "
                f"per side, the sides taking turns.", ""] + lines + [""]
        if args.repeat > 1:
            out += ["The single runs (train / infer seq/s), in the order they ran:", ""] + speed_runs(raw["speed"]) + [""]
    if args.quality:
        lines, raw["quality"] = quality(args, log)
        scope = f"first {args.limit} train / {args.limit} test examples" if args.limit else "full split"
        out += [f"## Quality ({os.path.basename(args.data.rstrip('/'))}, {os.path.basename(args.model.rstrip('/'))}, "
                f"{scope}, {args.epochs} epoch(s), mean over seeds {args.seeds})", ""] + lines + [""]
    print("\n".join(out))
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as f:
            json.dump(raw, f, indent=2)


if __name__ == "__main__":
    main()
