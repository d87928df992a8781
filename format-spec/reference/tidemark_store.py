#!/usr/bin/env python3
"""Independent reference reader of a tidemark store on local disk (../LAYOUT.md).

It follows LAYOUT.md section 5 rule by rule (section numbers are in the comments) and uses no
tidemark code; it decodes checkpoint files with tidemark_reader.py.
It finds the newest checkpoint of a stream exactly as the layout spec says, and counts the
existence checks and listings it makes, so that implementations can be compared by those too.

Command line:  python3 tidemark_store.py STORE_ROOT STREAM
  prints the result of latest() as JSON (see latest()), exit 0;
  a checkpoint written by a newer tidemark: the error as JSON on stdout (NewerFormat.as_dict())
    and "error: newer_format: ..." on stderr, exit 1;
  usage error: exit 2.

Python 3.9+, standard library only.
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tidemark_reader import REQUIRED_FLAGS_MASK, SUPPORTED_MAJOR, TidemarkError, decode  # noqa: E402

U64_MAX = 2**64 - 1
MAX_PROBES = 32  # section 5.2
HINT_NAME = "_latest"
SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")


class NewerFormat(Exception):
    """A checkpoint written by a newer tidemark (section 5.5): latest() stops, never falls back."""

    def __init__(self, checkpoint_id, version, required_features):
        super().__init__(
            f"checkpoint {checkpoint_id}: written by a newer tidemark (format {version}"
            + (f", unknown required features 0x{required_features:04x}" if required_features else "")
            + "): upgrade tidemark"
        )
        self.id, self.version, self.required_features = checkpoint_id, version, required_features

    def as_dict(self):
        """The error in the shape of the golden stores' expectations."""
        return {"error": "newer_format", "id": self.id, "format_version": self.version,
                "required_features": self.required_features}


def encode_stream_name(name):
    """The stream's folder name (section 1.1)."""
    raw = name.encode("utf-8")
    out = "".join(chr(b) if b in SAFE else f"={b:02X}" for b in raw)
    if len(out) <= 120:
        return out
    cut = 80
    for back in (1, 2):  # never split an escape
        if out[80 - back] == "=":
            cut = 80 - back
    h = 0xCBF29CE484222325
    for b in raw:
        h = ((h ^ b) * 0x100000001B3) & U64_MAX
    return f"{out[:cut]}=H{h:016x}"


def parse_hint(data):
    """Section 5.1, strict: [1-9][0-9]* (at most 20 digits, at most 2^64-1) and one newline."""
    if not data.endswith(b"\n"):
        return None
    digits = data[:-1]
    if not (1 <= len(digits) <= 20) or digits[:1] == b"0" or not all(0x30 <= c <= 0x39 for c in digits):
        return None
    value = int(digits)
    return value if value <= U64_MAX else None


def checkpoint_id(file_name):
    """The id a file name stands for (section 1), or None: 20 digits, .tdm, at most 2^64-1."""
    if len(file_name) != 24 or not file_name.endswith(".tdm"):
        return None
    digits = file_name[:20]
    if not all("0" <= c <= "9" for c in digits):
        return None
    value = int(digits)
    return value if value <= U64_MAX else None


class _Folder:
    """One stream folder, counting the operations of section 5."""

    def __init__(self, root, stream):
        self.stream = stream
        self.dir = os.path.join(root, "streams", encode_stream_name(stream))
        self.existence_checks = self.listings = 0

    def path(self, cid):
        return os.path.join(self.dir, f"{cid:020d}.tdm")

    def exists(self, cid):
        self.existence_checks += 1
        return os.path.lexists(self.path(cid))  # anything under the name, a directory too (5.4)

    def list_ids(self):
        self.listings += 1
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        ids = []
        for name in names:
            cid = checkpoint_id(name)
            if cid is not None and os.path.isfile(os.path.join(self.dir, name)):
                ids.append(cid)
        return ids

    def read_hint(self):
        try:
            with open(os.path.join(self.dir, HINT_NAME), "rb") as f:
                return parse_hint(f.read())
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def read(self, cid):
        """None if absent; ("valid", doc) or ("damaged", kind); raises NewerFormat (section 5.5)."""
        try:
            with open(self.path(cid), "rb") as f:
                data = f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        try:
            doc = decode(data)
        except TidemarkError as e:
            if e.kind == "unsupported_version":
                major = int.from_bytes(data[8:10], "little")
                if major > SUPPORTED_MAJOR:
                    raise NewerFormat(cid, _version(data), 0) from None
            if e.kind == "unsupported_features":
                flags = int.from_bytes(data[12:16], "little")
                raise NewerFormat(cid, _version(data), flags & REQUIRED_FLAGS_MASK) from None
            return ("damaged", e.kind)
        if doc["stream"] != self.stream:
            return ("damaged", "wrong_stream")
        if doc["id"] != cid:
            return ("damaged", "wrong_id")
        return ("valid", doc)


def _version(data):
    return f"{int.from_bytes(data[8:10], 'little')}.{int.from_bytes(data[10:12], 'little')}"


def latest(root, stream):
    """The newest valid checkpoint of `stream` in the store at `root` (section 5).

    Returns {"latest": id or None, "max_id": highest id present or None,
    "skipped": [{"id": ..., "kind": ...}, ...] (damaged objects, newest first),
    "existence_checks": n, "listings": n}. Raises NewerFormat.
    """
    folder = _Folder(root, stream)
    result = {"latest": None, "max_id": None, "skipped": []}
    listed = None
    # 5.2: the hint and the forward probe.
    candidate = folder.read_hint()
    if candidate is not None:
        for _ in range(MAX_PROBES):
            if candidate == U64_MAX or not folder.exists(candidate + 1):
                break
            candidate += 1
        else:
            candidate = None  # far behind: h + 32 exists
    if candidate is None:
        listed = folder.list_ids()
        candidate = max(listed, default=None)
    if candidate is not None:
        found = folder.read(candidate)
        if found is not None and found[0] == "valid":
            result["latest"] = result["max_id"] = candidate
        else:
            if found is not None:
                result["skipped"].append({"id": candidate, "kind": found[1]})
                result["max_id"] = candidate
            # 5.3: walk down from the highest listed id, listing at most once.
            if listed is None:
                listed = folder.list_ids()
            ids = sorted((i for i in listed if i != candidate), reverse=True)
            if ids and (result["max_id"] is None or ids[0] > result["max_id"]):
                result["max_id"] = ids[0]
            for cid in ids:
                found = folder.read(cid)
                if found is None:
                    continue
                if found[0] == "valid":
                    result["latest"] = cid
                    break
                result["skipped"].append({"id": cid, "kind": found[1]})
    result["existence_checks"] = folder.existence_checks
    result["listings"] = folder.listings
    return result


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: python3 tidemark_store.py STORE_ROOT STREAM\n")
        return 2
    try:
        result = latest(argv[1], argv[2])
    except NewerFormat as e:
        sys.stdout.write(json.dumps(e.as_dict(), indent=2) + "\n")
        sys.stderr.write(f"error: newer_format: {e}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"cannot read the store: {e}\n")
        return 2
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
