"""Dataset readers shared by the reference scripts, without torch (svm_baseline.py needs none).

They read as mltc's src/run/dataset.c does, the format told by the first non-empty line:
  jsonl        {"title", "text", "labels"}; text = title + "\\n" + text when the title is non-empty
  tsv          text<TAB>a,b
  tsv-columns  a header (a text column such as "Tweet", then one column per label), then 0/1 cells
               (SemEval-2018 E-c)
Gold labels come back as a list of 0/1 rows (one int per label, in label-file order).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from textfile import open_text  # noqa: E402  (data files may be gzip-compressed)


def read_labels(path):
    """Label names, one a line, blank lines and repeats skipped."""
    names = []
    with open_text(path) as f:
        for line in f:
            name = line.strip()
            if name and name not in names:
                names.append(name)
    return names


TEXT_COLUMNS = ("text", "tweet", "sentence", "content", "document", "comment_text", "body")


def tsv_header(line):
    """(text column, label names) of a tsv-columns header, or None when the line is not one."""
    fields = [f.strip() for f in line.rstrip("\r\n").split("\t")]
    for c, name in enumerate(fields):
        if name.lower() in TEXT_COLUMNS:
            return (c, fields[c + 1:]) if c + 1 < len(fields) else None
    return None


def header_labels(path):
    """The label names of a tsv-columns file's header (mltc takes them from there without --labels)."""
    with open_text(path) as f:
        for line in f:
            if line.strip():
                h = tsv_header(line)
                if not h:
                    sys.exit(f"{path}: no --labels given and the first line is not a tsv-columns header")
                return h[1]
    sys.exit(f"{path}: empty")


def read_dataset(path, index, limit=0):
    """(texts, gold): gold[i][k] = 1 when example i has label k (index: name -> k). limit > 0
    keeps the first `limit` examples only."""
    texts, gold = [], []
    fmt, cols, text_col = None, None, None
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            line = line.rstrip("\r\n")
            row = [0] * len(index)

            def mark(name):
                if name not in index:
                    sys.exit(f"{path}:{lineno}: unknown label '{name}' (not in the labels file)")
                row[index[name]] = 1

            if fmt is None:
                h = tsv_header(line)
                if line.lstrip().startswith("{"):
                    fmt = "jsonl"
                elif h and sum(n in index for n in h[1]) * 2 >= len(index):
                    fmt, (text_col, names) = "tsv-columns", h
                    cols = [(text_col + 1 + i, n) for i, n in enumerate(names)]
                    for _, n in cols:
                        mark(n)  # every column must be a known label
                    continue
                else:
                    fmt = "tsv"
            if fmt == "jsonl":
                obj = json.loads(line)
                title = obj.get("title") or ""
                body = obj.get("text") or ""
                texts.append(title + "\n" + body if title else body)
                for name in obj.get("labels") or []:
                    mark(name)
            elif fmt == "tsv":
                text, _, names = line.partition("\t")
                texts.append(text)
                for name in names.split(","):
                    if name.strip():
                        mark(name.strip())
            else:
                fields = line.split("\t")
                if len(fields) != len(cols) + text_col + 1:
                    sys.exit(f"{path}:{lineno}: {len(fields)} fields, the header has {len(cols) + text_col + 1}")
                texts.append(fields[text_col])
                for c, name in cols:
                    cell = fields[c].strip()
                    if cell == "1":
                        mark(name)
                    elif cell != "0":
                        sys.exit(f"{path}:{lineno}: column {c + 1} (label '{name}') holds '{cell[:40]}', expected 0 or 1")
            gold.append(row)
            if limit and len(texts) >= limit:
                break
    return texts, gold


def label_names(labels_path, train_path):
    """--labels when given, else the header of a tsv-columns training file."""
    return read_labels(labels_path) if labels_path else header_labels(train_path)
