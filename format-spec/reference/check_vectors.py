#!/usr/bin/env python3
"""Check the reference readers against every test vector in ../vectors and golden store in ../stores.

A vector FILE.tdm is valid if FILE.json exists (the reader's JSON must equal it byte for byte)
and corrupt if FILE.error exists (decoding must fail with that error kind). A golden store is a
folder STORE with STORE.json beside it: for each stream, what tidemark_store.latest() must
return (or the newer_format error it must raise). Prints one line per vector and per stream,
then "N passed, N failed"; exits 1 if anything failed. Python 3.9+, standard library only.
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, str(HERE))
from tidemark_reader import TidemarkError, decode, render_json  # noqa: E402
from tidemark_store import NewerFormat, latest  # noqa: E402

VECTORS = HERE.parent / "vectors"
STORES = HERE.parent / "stores"


def check(tdm):
    """Returns (ok, description) for one vector."""
    json_file, error_file = tdm.with_suffix(".json"), tdm.with_suffix(".error")
    if json_file.exists() == error_file.exists():
        return False, "needs exactly one of .json / .error beside it"
    try:
        got = render_json(decode(tdm.read_bytes()))
    except TidemarkError as e:
        if error_file.exists():
            want = error_file.read_text(encoding="utf-8").strip()
            return e.kind == want, f"error {e.kind}" + ("" if e.kind == want else f", expected {want}")
        return False, f"unexpected error {e.kind}: {e.message}"
    if error_file.exists():
        return False, "decoded, expected error " + error_file.read_text(encoding="utf-8").strip()
    if got == json_file.read_bytes():
        return True, "JSON matches"
    return False, "JSON differs from " + json_file.name


def check_store(root, stream, want):
    """Returns (ok, description) for one stream of a golden store."""
    try:
        got = latest(str(root), stream)
    except NewerFormat as e:
        got = e.as_dict()
    if got == want:
        return True, "error newer_format" if "error" in want else f"latest {got['latest']}"
    return False, f"got {json.dumps(got)}, expected {json.dumps(want)}"


def main():
    vectors = sorted(VECTORS.glob("*.tdm"))
    passed = failed = 0
    for tdm in vectors:
        ok, what = check(tdm)
        print(f"{'PASS' if ok else 'FAIL'}  {tdm.name}: {what}")
        passed, failed = passed + ok, failed + (not ok)
    if not vectors:
        print(f"no *.tdm files found in {VECTORS}")
        failed += 1  # an empty run must not look like success
    stores = sorted(p for p in STORES.glob("*.json") if (STORES / p.stem).is_dir())
    for expected in stores:
        for stream, want in json.loads(expected.read_text(encoding="utf-8")).items():
            ok, what = check_store(STORES / expected.stem, stream, want)
            print(f"{'PASS' if ok else 'FAIL'}  {expected.stem}/{stream}: {what}")
            passed, failed = passed + ok, failed + (not ok)
    if not stores:
        print(f"no golden stores found in {STORES}")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
