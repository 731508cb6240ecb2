#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/: the token ids Hugging Face's tokenizer gives every text of
the datasets in data/, for tests/test_tokenizer.c to compare against.

    pip install tokenizers          # (see tools/reference/requirements.txt)
    python3 tools/reference/tokenizer_fixture.py [--data data] [--out tests/fixtures/tokenizer]

The tokenizer is tokenizers' Tokenizer of data/vocab/bert-base-uncased/tokenizer.json.gz, i.e.
what BertTokenizerFast runs: BertNormalizer, BertPreTokenizer, WordPiece. No truncation, no
special tokens ([CLS]/[SEP] are added by the model input builder, tested separately).

Texts, in file order (the same reading the C test does):
  reuters-train / reuters-test  data/reuters-modapte/{train,test}.jsonl.gz, one JSON object a line;
                                the text is title + "\\n" + text, the way mltc's data reader joins
                                a Reuters document (an empty body leaves just the title and "\\n").
  semeval-train / -dev / -test  data/semeval2018-ec/{train,dev,test}.tsv.gz, header skipped; the text
                                is the second tab-separated column (Tweet), the line split on "\\t"
                                after dropping its "\\n" (no CSV quoting: the files use none).

Output (UTF-8 text, tab-separated, '#' lines are comments):
  hashes.tsv  dataset, index, n_ids, FNV-1a 64-bit hash (16 hex digits) of the ids written as
              little-endian int32 - one line per text, every text of every file.
  ids.tsv     dataset, index, the ids space-separated - the first FULL_IDS texts of each file,
              so a mismatch can be shown in detail.
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from textfile import data_dir, data_file, open_text  # noqa: E402

FULL_IDS = 300  # texts per file with their full ids


def fnv1a64(ids):
    h = 0xCBF29CE484222325
    for b in struct.pack("<%di" % len(ids), *ids):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def reuters_texts(path):
    with open_text(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                doc = json.loads(line)
                yield doc["title"] + "\n" + doc["text"]


def semeval_texts(path):
    with open_text(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    for line in lines[1:]:
        if line:
            yield line.split("\t")[1]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=data_dir(), help="the data folder (default $MLTC_DATA_DIR, else data/)")
    ap.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "tokenizer"))
    args = ap.parse_args()

    from tokenizers import Tokenizer, __version__ as tok_version

    with open_text(data_file(os.path.join(args.data, "vocab", "bert-base-uncased", "tokenizer.json")), "utf-8") as f:
        tok = Tokenizer.from_str(f.read())
    tok.no_truncation()
    tok.no_padding()
    data = args.data
    sources = [
        ("reuters-train", reuters_texts(data_file(os.path.join(data, "reuters-modapte", "train.jsonl")))),
        ("reuters-test", reuters_texts(data_file(os.path.join(data, "reuters-modapte", "test.jsonl")))),
        ("semeval-train", semeval_texts(data_file(os.path.join(data, "semeval2018-ec", "train.tsv")))),
        ("semeval-dev", semeval_texts(data_file(os.path.join(data, "semeval2018-ec", "dev.tsv")))),
        ("semeval-test", semeval_texts(data_file(os.path.join(data, "semeval2018-ec", "test.tsv")))),
    ]
    os.makedirs(args.out, exist_ok=True)
    header = "# written by tools/reference/tokenizer_fixture.py with tokenizers %s\n" % tok_version
    total = 0
    with open(os.path.join(args.out, "hashes.tsv"), "w", encoding="utf-8", newline="\n") as fh, open(
        os.path.join(args.out, "ids.tsv"), "w", encoding="utf-8", newline="\n"
    ) as fi:
        fh.write(header + "# dataset\tindex\tn_ids\tfnv1a64(ids as int32 LE)\n")
        fi.write(header + "# dataset\tindex\tids\n")
        for name, texts in sources:
            texts = list(texts)
            encs = tok.encode_batch(texts, add_special_tokens=False)
            keep = FULL_IDS
            for i, e in enumerate(encs):
                fh.write("%s\t%d\t%d\t%016x\n" % (name, i, len(e.ids), fnv1a64(e.ids)))
                if i < keep:
                    fi.write("%s\t%d\t%s\n" % (name, i, " ".join(map(str, e.ids))))
            total += len(texts)
            print("%s: %d texts" % (name, len(texts)), file=sys.stderr)
    print("%d texts in all" % total, file=sys.stderr)


if __name__ == "__main__":
    main()
