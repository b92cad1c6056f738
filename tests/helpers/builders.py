"""Test data builders: real images, hostile files, and configs for the harness."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

from bot.config import BotConfig, Config, HandoffConfig

# 2026-01-15 12:00 UTC: the harness clock starts here, so "2025-03-14" is in the past and
# "2027-01-01" in the future whatever day the tests run.
T0 = 1_768_478_400.0
MINUTE = 60.0
DAY = 86_400.0


def png(width: int = 4, height: int = 3, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small real PNG; vary `color` to get different bytes (and content hashes)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 8, height: int = 6) -> bytes:
    """A small real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def gif() -> bytes:
    """A small real GIF."""
    out = io.BytesIO()
    Image.new("P", (5, 5)).save(out, format="GIF")
    return out.getvalue()


def bmp() -> bytes:
    """A real image in a format Kefu does not accept (BMP)."""
    out = io.BytesIO()
    Image.new("RGB", (5, 5)).save(out, format="BMP")
    return out.getvalue()


def exe() -> bytes:
    """The start of a Windows executable: what an .exe renamed .png holds."""
    header = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    return header + b"\x00" * 48 + b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 64


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


@functools.cache
def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A real 1-bit PNG of `width` x `height` black pixels: ~50 KB that inflates to ~50 MB.

    Built directly (IHDR + one zlib stream of zero rows + IEND), never as a Pillow image, so
    making it costs a fraction of a second and no memory to speak of.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    row = bytes(1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size in its header and holds no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IEND", b"")


def config(data_dir: Path, handoff: dict[str, Any] | None = None, **bot: Any) -> Config:
    """A Config whose data lives in `data_dir`, with [bot] and [handoff] overrides."""
    return Config(bot=BotConfig(data_dir=data_dir, **bot), handoff=HandoffConfig(**handoff or {}))


def toml_config(path: Path, data_dir: Path, extra: str = "") -> Path:
    """Write a config file for a subprocess: data in `data_dir`, plus `extra` TOML."""
    path.write_text(f'[bot]\ndata_dir = "{data_dir.as_posix()}"\n{extra}', encoding="utf-8")
    return path


def webp() -> bytes:
    """A small real WebP."""
    out = io.BytesIO()
    Image.new("RGB", (6, 4), (40, 200, 90)).save(out, format="WEBP")
    return out.getvalue()
