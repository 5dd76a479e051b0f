"""A tiny PNG writer (zlib + struct) for the stand-in's mini-program codes."""

from __future__ import annotations

import hashlib
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def read_text_chunks(png: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG (used by tests and by anyone checking what a code carries)."""
    texts: dict[str, str] = {}
    pos = 8
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = data.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return texts


def make_code_png(*, scene: str, page: str | None, width: int) -> bytes:
    """A grayscale square image whose block pattern derives from the scene, with the
    scene and page carried in tEXt chunks (Latin-1; non-Latin text is percent-encoded)."""
    cells = 21
    cell = max(1, width // cells)
    size = cell * cells
    digest = hashlib.sha256(scene.encode("utf-8")).digest() * 2
    bits = [(digest[i // 8] >> (i % 8)) & 1 for i in range(cells * cells)]
    rows = []
    for y in range(size):
        row = bytearray(b"\0")  # filter type None
        cy = y // cell
        for cx in range(cells):
            row += (b"\x00" if bits[cy * cells + cx] else b"\xff") * cell
        rows.append(bytes(row))
    raw = b"".join(rows)
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)

    def text(key: str, value: str) -> bytes:
        from urllib.parse import quote

        return _chunk(
            b"tEXt",
            key.encode("latin-1")
            + b"\0"
            + quote(value, safe="=&/?-_.~!*'()").encode("latin-1"),
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + text("scene", scene)
        + (text("page", page) if page else b"")
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )
