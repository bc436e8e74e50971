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


def _png(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    """A PNG of the given size, bit depth and colour type around compressed scanlines."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(side: int = 30_000) -> bytes:
    """A real decompression bomb: a valid 1-bit side x side PNG of zeros, about 100 KB."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + (side + 7) // 8)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000))
    idat += compressor.compress(row * (side % 1000)) + compressor.flush()
    return _png(side, side, 1, 0, idat)


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


def solid_png(width: int, height: int) -> bytes:
    """A valid grey RGB PNG of any size, built row by row: small bytes, many pixels."""
    compressor = zlib.compressobj(9)
    row = b"\0" + b"\x80" * (3 * width)
    rows_per_chunk = max(1, 4_000_000 // len(row))
    idat = b"".join(
        compressor.compress(row * min(rows_per_chunk, height - start))
        for start in range(0, height, rows_per_chunk)
    )
    idat += compressor.flush()
    return _png(width, height, 8, 2, idat)


def many_frame_gif(side: int = 6000, frames: int = 5000) -> bytes:
    """A side x side GIF whose first frame fills it, followed by `frames - 1` 1x1 frames."""
    first = encode(Image.new("P", (side, side), 0), "GIF")
    dot = encode(Image.new("P", (1, 1), 0), "GIF")
    block = dot[dot.index(b"\x2c") : -1]  # one image descriptor and its data, no trailer
    return first[:-1] + block * (frames - 1) + b"\x3b"


def big_tiff(width: int = 6000, height: int = 6000) -> bytes:
    """A deflate-compressed RGB TIFF of width x height."""
    return encode(
        Image.new("RGB", (width, height), (128, 128, 128)), "TIFF", compression="tiff_deflate"
    )


def big_jpeg(width: int = 7300, height: int = 5470) -> bytes:
    """A plain JPEG of about 40 MP, which decodes reduced."""
    return encode(Image.new("RGB", (width, height), (128, 128, 128)), "JPEG", quality=70)


def crafted() -> dict[str, bytes]:
    """The hostile files of issue 21, and the largest ordinary photos accepted."""
    return {
        "6000x6000 PNG (36 MP)": solid_png(6000, 6000),
        "7300x5470 PNG (40 MP)": solid_png(7300, 5470),
        "6000x6000 TIFF (36 MP)": big_tiff(),
        "6000x6000 GIF, 5000 frames": many_frame_gif(),
        "100x400000 PNG": solid_png(100, 400_000),
        "32x1250000 PNG": solid_png(32, 1_250_000),
        "300x130000 PNG": solid_png(300, 130_000),
        "7300x5470 JPEG (40 MP)": big_jpeg(),
        "4080x3060 PNG (12.5 MP)": solid_png(4080, 3060),
        "1280x128 PNG (10:1)": solid_png(1280, 128),
    }
