"""The trace file's framing, shared by the writer and the reader.

The file is a stream of msgpack values (docs/trace-format.md is the
byte-level description):

    header   ["rvtrace-trace", VERSION, crc32(body), body]     body = packed map
    chunk    ["chunk", crc, first_event, count, first_icount, last_icount, data]
    ...      (one per CHUNK_EVENTS events; data = zlib(packed list of events))
    snapshot ["snapshot", crc, icount, events, body]           between chunks (trace/snapshots.py)
    index    ["index", crc, body]                               body = packed map
    footer   ["tail", index_offset]     exactly FOOTER_SIZE bytes, offset as uint64

Every record carries a CRC-32, so a damaged record is detected, never
misread. Everything after the header is optional: a file cut after any
chunk is a valid (truncated) trace.
"""

from __future__ import annotations

import struct
import zlib

import msgpack

FORMAT_NAME = "rvtrace-trace"
VERSION = 3                    # 2: the cow event kind (16) and the index's intervals section; 3: snapshots
CHUNK_EVENTS = 4096

TAG_CHUNK = "chunk"
TAG_INDEX = "index"
TAG_SNAPSHOT = "snapshot"

# ["tail", uint64]: fixarray(2), fixstr(4) "tail", uint64 marker + 8 bytes big-endian.
FOOTER_PREFIX = b"\x92\xa4tail\xcf"
FOOTER_SIZE = len(FOOTER_PREFIX) + 8

# The largest single record a reader accepts (a header holding a kernel and a
# disk image is the largest); a damaged length claiming more is rejected.
MAX_RECORD_BYTES = 512 * 1024 * 1024


def pack(obj) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data: bytes):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def chunk_crc(first_event: int, count: int, first_icount: int, last_icount: int, data: bytes) -> int:
    """CRC-32 over a chunk's numbers and its compressed bytes."""
    meta = pack([first_event, count, first_icount, last_icount])
    return zlib.crc32(data, zlib.crc32(meta))


def footer(index_offset: int) -> bytes:
    return FOOTER_PREFIX + struct.pack(">Q", index_offset)


def parse_footer(tail: bytes) -> int | None:
    """The index offset a footer points to, or None if `tail` is no footer."""
    if len(tail) != FOOTER_SIZE or not tail.startswith(FOOTER_PREFIX):
        return None
    return struct.unpack(">Q", tail[len(FOOTER_PREFIX):])[0]


def compress_events(stored: list) -> bytes:
    return zlib.compress(pack(stored), 6)
