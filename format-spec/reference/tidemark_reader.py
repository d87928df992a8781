#!/usr/bin/env python3
"""Independent reference reader for tidemark checkpoint files.

Written from ../FORMAT.md alone (without looking at tidemark's Rust code), to show that the
specification suffices. Reads major version 1 files of any minor version (1.0, 1.1, ...):
it decodes the v1 body, and skips and reports extension records (v1.0 defines no tags).

Command line:  python3 tidemark_reader.py FILE
  valid file   -> the JSON rendering of FORMAT.md section 9 on stdout (UTF-8), exit 0
  invalid file -> "error: <kind>: <message>" on stderr, exit 1
  usage error  -> message on stderr, exit 2

As a library:
  decode(data: bytes) -> dict   the section 9 rendering as a dict (keys in section 9 order)
  render_json(doc) -> bytes     that dict as the exact section 9 JSON text
  TidemarkError                 raised by decode; .kind is one of KINDS

Python 3.9+, standard library only.
"""
import json
import struct
import sys
import zlib

MAGIC = b"\x89TDM\r\n\x1a\n"
HEADER_SIZE, TRAILER_SIZE = 24, 4
SUPPORTED_MAJOR = 1
REQUIRED_FLAGS_MASK = 0x0000FFFF  # v1.0 implements no required feature bits
KNOWN_EXTENSION_TAGS = frozenset()  # v1.0 defines no extension tags

# Limits, section 5.
MAX_FILE_SIZE = 67_108_864
MAX_STRING_BYTES = 4_096
MAX_TOPICS = 100_000
MAX_PARTITIONS = 1_000_000
MAX_METADATA_ENTRIES = 1_024
MAX_METADATA_BYTES = 1_048_576
MAX_PARTITION = 2**31 - 1
MAX_OFFSET = 2**63 - 1

# The error kinds of FORMAT.md section 6, in decoding order (stable identifiers).
KINDS = (
    "truncated", "trailing_bytes", "too_large", "bad_magic", "unsupported_version",
    "unsupported_features", "checksum_mismatch", "malformed_body", "malformed_extension_area",
    "invalid_checkpoint",
)


class TidemarkError(Exception):
    """A file that is not a valid checkpoint; .kind is one of KINDS, .message says why."""

    def __init__(self, kind, message):
        assert kind in KINDS, kind
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class _Body:
    """Cursor over the body (section 2.1 primitives). Offsets reported are file offsets."""

    def __init__(self, data, start, end):
        self.data, self.pos, self.end = data, start, end

    def _fail(self, field, start, why):
        if isinstance(field, tuple):  # (format, args...): formatted only when needed
            field = field[0].format(*field[1:])
        raise TidemarkError("malformed_body", f"{field} at byte {start}: {why}")

    def _take(self, n, field, start):
        if n > self.end - self.pos:  # never trust a length beyond the bytes present
            self._fail(field, start, f"needs {n} bytes, only {self.end - self.pos} left in the body")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def varint(self, field):
        start = self.pos
        if start >= self.end:
            self._fail(field, start, "needs 1 byte, the body has ended")
        b = self.data[start]
        self.pos += 1
        if b <= 0xFA:  # the common case, kept fast
            return b
        if b >= 0xFE:
            self._fail(field, start, f"invalid varint marker 0x{b:02X}")
        size, fmt, minimum = {0xFB: (2, "<H", 251), 0xFC: (4, "<I", 2**16), 0xFD: (8, "<Q", 2**32)}[b]
        value = struct.unpack(fmt, self._take(size, field, start))[0]
        if value < minimum:
            self._fail(field, start, f"non-shortest varint for {value}")
        return value

    def raw(self, field):
        start = self.pos
        return self._take(self.varint(field), field, start), start

    def string(self, field):
        raw, start = self.raw(field)
        try:
            return raw.decode("utf-8"), raw  # strict: rejects surrogates and overlong forms
        except UnicodeDecodeError as e:
            self._fail(field, start, f"invalid UTF-8 ({e.reason} at string byte {e.start})")


def decode(data):
    """Decode one checkpoint file; returns the section 9 rendering as a dict or raises TidemarkError."""
    data = bytes(data)
    n = len(data)
    # 1. Length.
    if n < HEADER_SIZE + TRAILER_SIZE:
        if data[:len(MAGIC)] == MAGIC[:n]:
            raise TidemarkError("truncated", f"expected at least {HEADER_SIZE + TRAILER_SIZE} bytes, got {n}")
        raise TidemarkError("bad_magic", f"file does not start with the tidemark magic ({n} bytes)")
    if n > MAX_FILE_SIZE:
        raise TidemarkError("too_large", f"{n} bytes, limit is {MAX_FILE_SIZE}")
    # 2. Magic.
    if data[:8] != MAGIC:
        raise TidemarkError("bad_magic", f"file starts with {data[:8].hex(' ')}, expected {MAGIC.hex(' ')}")
    major, minor, flags, body_len, ext_len = struct.unpack_from("<HHIII", data, 8)
    # 3. Version.
    if major != SUPPORTED_MAJOR:
        raise TidemarkError("unsupported_version", f"found {major}.{minor}, supported: {SUPPORTED_MAJOR}.x")
    # 4. Flags: unknown optional bits (16-31) are ignored.
    if flags & REQUIRED_FLAGS_MASK:
        raise TidemarkError("unsupported_features", f"unknown required feature bits 0x{flags & REQUIRED_FLAGS_MASK:04X}")
    # 5. Declared length.
    expected = HEADER_SIZE + body_len + ext_len + TRAILER_SIZE
    if expected > MAX_FILE_SIZE:
        raise TidemarkError("too_large", f"declared {expected} bytes, limit is {MAX_FILE_SIZE}")
    if n < expected:
        raise TidemarkError("truncated", f"expected {expected} bytes, got {n}")
    if n > expected:
        raise TidemarkError("trailing_bytes", f"expected {expected} bytes, got {n}")
    # 6. Checksum.
    stored = struct.unpack_from("<I", data, n - TRAILER_SIZE)[0]
    computed = zlib.crc32(data[:n - TRAILER_SIZE]) & 0xFFFFFFFF
    if stored != computed:
        raise TidemarkError("checksum_mismatch", f"expected 0x{stored:08X} (stored), actual 0x{computed:08X} (computed)")
    # 7. Body. Semantic problems are only noted here and raised in step 9 (after step 8).
    body_end = HEADER_SIZE + body_len
    problems = []
    doc = _decode_body(_Body(data, HEADER_SIZE, body_end), problems)
    doc = {"format_version": f"{major}.{minor}", **doc}
    # 8. Extensions.
    doc["skipped_extensions"] = _decode_extensions(data, body_end, body_end + ext_len)
    # 9. Semantics.
    if problems:
        raise TidemarkError("invalid_checkpoint", problems[0])
    return doc


def _decode_body(r, problems):
    def problem(message):  # only the first semantic problem is reported
        if not problems:
            problems.append(message)

    def check_string(what, raw, nonempty=False):
        if nonempty and not raw:
            problem(f"{what} is empty")
        if len(raw) > MAX_STRING_BYTES:
            problem(f"{what} is {len(raw)} bytes, limit is {MAX_STRING_BYTES}")

    stream, raw = r.string("stream")
    check_string("stream", raw, nonempty=True)
    doc = {"stream": stream}
    for field in ("id", "batch_time_ms", "created_at_ms"):
        doc[field] = r.varint(field)
    writer = {"epoch": r.varint("writer.epoch")}
    for field in ("app_name", "app_version", "host", "tidemark_version"):
        writer[field], raw = r.string("writer." + field)
        check_string("writer." + field, raw)
    doc["writer"] = writer

    offsets, total_partitions, previous_name = {}, 0, None
    topic_count = r.varint("topics (count)")
    if topic_count > MAX_TOPICS:
        problem(f"{topic_count} topics, limit is {MAX_TOPICS}")
    for i in range(topic_count):  # each topic consumes bytes, so a lying count runs out of body
        name, raw = r.string(f"topics[{i}].name")
        check_string(f"topic name #{i}", raw, nonempty=True)
        if previous_name is not None and raw <= previous_name:
            problem(f"topic {name!r} is not after {previous_name.decode('utf-8')!r} (order or duplicate)")
        previous_name = raw
        count = r.varint(f"topics[{i}].partitions (count)")
        if count == 0:
            problem(f"topic {name!r} has no partitions")
        total_partitions += count
        if total_partitions > MAX_PARTITIONS:
            problem(f"more than {MAX_PARTITIONS} partitions in all")
        partitions, partition = {}, -1
        for j in range(count):
            gap = r.varint(("topics[{}].partitions[{}].gap", i, j))
            offset = r.varint(("topics[{}].partitions[{}].offset", i, j))
            partition = gap if j == 0 else partition + gap + 1
            if partition > MAX_PARTITION:
                problem(f"topic {name!r} partition {partition} exceeds {MAX_PARTITION}")
            if offset > MAX_OFFSET:
                problem(f"topic {name!r} partition {partition} offset {offset} exceeds {MAX_OFFSET}")
            if not problems:  # once invalid, keep checking structure but stop storing
                partitions[str(partition)] = offset
        if not problems:
            offsets[name] = partitions
    doc["offsets"] = offsets

    metadata, metadata_bytes, previous_key = {}, 0, None
    entry_count = r.varint("metadata (count)")
    if entry_count > MAX_METADATA_ENTRIES:
        problem(f"{entry_count} metadata entries, limit is {MAX_METADATA_ENTRIES}")
    for i in range(entry_count):
        key, raw = r.string(f"metadata[{i}].key")
        check_string(f"metadata key #{i}", raw, nonempty=True)
        if previous_key is not None and raw <= previous_key:
            problem(f"metadata key {key!r} is not after {previous_key.decode('utf-8')!r} (order or duplicate)")
        previous_key = raw
        value, _ = r.raw(f"metadata[{i}].value")
        metadata_bytes += len(raw) + len(value)
        if not problems:
            metadata[key] = value.hex()
    if metadata_bytes > MAX_METADATA_BYTES:
        problem(f"metadata keys and values total {metadata_bytes} bytes, limit is {MAX_METADATA_BYTES}")
    doc["metadata"] = metadata

    if r.pos != r.end:
        r._fail("end of body", r.pos, f"{r.end - r.pos} bytes left over after the metadata")
    return doc


def _decode_extensions(data, pos, end):
    skipped, previous_tag = [], 0
    while pos < end:
        if end - pos < 8:
            raise TidemarkError("malformed_extension_area", f"record at byte {pos}: {end - pos} bytes left, a record header needs 8")
        tag, length = struct.unpack_from("<II", data, pos)
        if tag == 0:
            raise TidemarkError("malformed_extension_area", f"record at byte {pos}: tag 0 is reserved")
        if tag <= previous_tag:
            raise TidemarkError("malformed_extension_area", f"record at byte {pos}: tag {tag} is not after tag {previous_tag}")
        if length > end - pos - 8:
            raise TidemarkError("malformed_extension_area", f"record at byte {pos}: tag {tag} claims {length} bytes, only {end - pos - 8} left")
        if tag not in KNOWN_EXTENSION_TAGS:
            skipped.append({"tag": tag, "length": length})
        previous_tag, pos = tag, pos + 8 + length
    return skipped


def render_json(doc):
    """The section 9 JSON text (UTF-8 bytes, two-space indent, non-ASCII unescaped, final newline)."""
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python3 tidemark_reader.py FILE\n")
        return 2
    try:
        with open(argv[1], "rb") as f:
            data = f.read(MAX_FILE_SIZE + 1)  # one byte more is enough to say "too large"
    except OSError as e:
        sys.stderr.write(f"cannot read {argv[1]}: {e.strerror or e}\n")
        return 2
    try:
        doc = decode(data)
    except TidemarkError as e:
        sys.stderr.write(f"error: {e.kind}: {e.message}\n")
        return 1
    sys.stdout.buffer.write(render_json(doc))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
