"""What a file is, from its first bytes: media type, and the dimensions or
duration of the images and videos aihub stores (PNG, JPEG, GIF, WebP, MP4/MOV).
Pure functions over bytes; no third-party decoder needed."""

from __future__ import annotations

import struct
from dataclasses import dataclass

IMAGE_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
VIDEO_TYPES = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm"}
EXTENSIONS = {**IMAGE_TYPES, **VIDEO_TYPES}
_MAX_BOXES = 10_000


@dataclass(frozen=True, slots=True)
class Probe:
    media_type: str | None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.media_type or "", ".bin")


def sniff(data: bytes) -> str | None:
    """The media type by magic number, None when unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def probe(data: bytes) -> Probe:
    media_type = sniff(data)
    try:
        if media_type == "image/png":
            return _png(data)
        if media_type == "image/jpeg":
            return _jpeg(data)
        if media_type == "image/gif":
            width, height = struct.unpack("<HH", data[6:10])
            return Probe(media_type, width, height)
        if media_type == "image/webp":
            return _webp(data)
        if media_type in ("video/mp4", "video/quicktime"):
            return _mp4(data, media_type)
    except (struct.error, IndexError, ValueError):
        pass
    return Probe(media_type)


def _png(data: bytes) -> Probe:
    if data[12:16] != b"IHDR":
        return Probe("image/png")
    width, height = struct.unpack(">II", data[16:24])
    return Probe("image/png", width, height)


def _jpeg(data: bytes) -> Probe:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return Probe("image/jpeg", width, height)
        index += 2 + length
    return Probe("image/jpeg")


def _webp(data: bytes) -> Probe:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return Probe("image/webp", width, height)
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return Probe("image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return Probe("image/webp", width & 0x3FFF, height & 0x3FFF)
    return Probe("image/webp")


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the ISO-BMFF boxes in [start, end)."""
    found: list[tuple[bytes, int, int]] = []
    index = start
    while index + 8 <= end and len(found) < _MAX_BOXES:
        size, kind = struct.unpack(">I4s", data[index : index + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[index + 8 : index + 16])
            header = 16
        elif size == 0:
            size = end - index
        if size < header:
            break
        found.append((kind, index + header, min(index + size, end)))
        index += size
    return found


def _mp4(data: bytes, media_type: str) -> Probe:
    duration: float | None = None
    width = height = None
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for inner, istart, iend in _boxes(data, start, end):
            if inner == b"mvhd":
                duration = _mvhd_duration(data, istart)
            elif inner == b"trak" and width is None:
                width, height = _track_size(data, istart, iend)
    return Probe(media_type, width, height, duration)


def _mvhd_duration(data: bytes, start: int) -> float | None:
    version = data[start]
    if version == 1:
        timescale, duration = struct.unpack(">IQ", data[start + 20 : start + 32])
    else:
        timescale, duration = struct.unpack(">II", data[start + 12 : start + 20])
    return round(duration / timescale, 3) if timescale else None


def _track_size(data: bytes, start: int, end: int) -> tuple[int | None, int | None]:
    for kind, bstart, _bend in _boxes(data, start, end):
        if kind != b"tkhd":
            continue
        offset = bstart + (88 if data[bstart] == 1 else 76)
        width, height = struct.unpack(">II", data[offset : offset + 8])
        if width and height:
            return width >> 16, height >> 16
    return None, None
