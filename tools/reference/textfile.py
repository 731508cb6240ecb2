"""The data folder and its text files, read as mltc reads them: data/ (or $MLTC_DATA_DIR) keeps
the large files gzip-compressed, and a file is decompressed when its first bytes say it is gzip,
whatever its name."""
import gzip
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def data_dir():
    """$MLTC_DATA_DIR, else data/ in the repository."""
    return os.environ.get("MLTC_DATA_DIR") or os.path.join(ROOT, "data")


def data_file(path):
    """path where it exists, else path + ".gz" where that exists, else path."""
    return path + ".gz" if not os.path.exists(path) and os.path.exists(path + ".gz") else path


def plain_name(path):
    """The file's name without a ".gz" ending: what it holds once decompressed."""
    name = os.path.basename(path)
    return name[:-3] if name.endswith(".gz") else name


def open_text(path, encoding="utf-8-sig", newline=None):
    """A text file for reading, gzip-compressed or plain."""
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    if compressed:
        return gzip.open(path, "rt", encoding=encoding, newline=newline)
    return open(path, encoding=encoding, newline=newline)
