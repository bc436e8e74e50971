"""A corpus of bad and unusual image files, generated in memory for the decoding tests."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb(side: int = 30_000) -> bytes:
    """A real decompression bomb: a valid 1-bit side x side PNG of zeros, about 100 KB."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + (side + 7) // 8)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000))
    idat += compressor.compress(row * (side % 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def exif_rotated_jpeg(pixels: np.ndarray) -> bytes:
    """The photo stored sideways with EXIF orientation 6, so viewers show it upright."""
    stored = Image.fromarray(np.rot90(pixels, k=1).copy())
    exif = stored.getexif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", exif=exif.tobytes(), quality=92)


def animated_gif(pixels: np.ndarray) -> bytes:
    """Two frames: the photo, then a grey frame."""
    first = Image.fromarray(pixels).convert("P", palette=Image.Palette.ADAPTIVE)
    second = Image.new("P", first.size, 0)
    return encode(first, "GIF", save_all=True, append_images=[second], duration=200, loop=0)


def sixteen_bit_png(pixels: np.ndarray) -> bytes:
    grey = np.asarray(Image.fromarray(pixels).convert("L"), dtype=np.uint16) * 257
    return encode(Image.fromarray(grey), "PNG")


def transparent_png(pixels: np.ndarray) -> bytes:
    rgba = np.dstack([pixels, np.full(pixels.shape[:2], 200, np.uint8)])
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")
