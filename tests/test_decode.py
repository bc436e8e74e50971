"""Decoding what people send: every format to upright RGB, every bad file to a typed outcome."""

from __future__ import annotations

import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from tests import badfiles
from xinh.inference.decode import decode
from xinh.inference.types import Limits, Outcome


@pytest.fixture(scope="module")
def astronaut(astronaut_jpeg: bytes) -> np.ndarray:
    return decode(astronaut_jpeg).pixels


def test_jpeg_decodes_to_rgb(astronaut_jpeg: bytes) -> None:
    decoded = decode(astronaut_jpeg)
    assert decoded.outcome is Outcome.OK
    assert decoded.pixels.shape == (512, 512, 3) and decoded.pixels.dtype == np.uint8


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("PNG", "RGB", {}),
        ("WEBP", "RGB", {"quality": 90}),
        ("BMP", "RGB", {}),
        ("TIFF", "RGB", {}),
        ("JPEG", "L", {}),
        ("JPEG", "CMYK", {}),
        ("PNG", "P", {}),
        ("PNG", "LA", {}),
        ("HEIF", "RGB", {"quality": 90}),
    ],
)
def test_formats_and_modes_become_rgb(astronaut: np.ndarray, fmt, mode, options) -> None:
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    image = Image.fromarray(astronaut).convert(mode)
    decoded = decode(badfiles.encode(image, fmt, **options))
    assert decoded.outcome is Outcome.OK, decoded.detail
    assert decoded.pixels.shape == (512, 512, 3) and decoded.pixels.dtype == np.uint8
    assert abs(float(decoded.pixels.mean()) - float(astronaut.mean())) < 12


def test_sixteen_bit_png_keeps_its_contrast(astronaut: np.ndarray) -> None:
    decoded = decode(badfiles.sixteen_bit_png(astronaut))
    assert decoded.outcome is Outcome.OK
    assert decoded.pixels.std() > 30  # not clipped to white


def test_alpha_is_flattened_onto_white(astronaut: np.ndarray) -> None:
    decoded = decode(badfiles.transparent_png(astronaut))
    assert decoded.outcome is Outcome.OK
    assert decoded.pixels.mean() > astronaut.mean()


def test_animated_gif_gives_its_first_frame(astronaut: np.ndarray) -> None:
    decoded = decode(badfiles.animated_gif(astronaut))
    assert decoded.outcome is Outcome.OK
    assert decoded.pixels.std() > 30  # the photo, not the grey second frame


def test_exif_orientation_is_applied(astronaut: np.ndarray) -> None:
    decoded = decode(badfiles.exif_rotated_jpeg(astronaut))
    assert decoded.outcome is Outcome.OK
    assert decoded.pixels.shape == astronaut.shape
    assert np.abs(decoded.pixels.astype(int) - astronaut).mean() < 8


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_turns_as_pil_and_opencv_turn_it(
    astronaut: np.ndarray, orientation: int
) -> None:
    stored = Image.fromarray(astronaut[:300, :200])  # not square: a turn changes the shape
    exif = stored.getexif()
    exif[0x0112] = orientation
    data = badfiles.encode(stored, "JPEG", exif=exif.tobytes(), quality=92)
    pil = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    opencv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    pixels = decode(data).pixels
    assert pixels.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(pixels, opencv)
    assert pixels.shape == pil.shape and np.abs(pixels.astype(int) - pil).mean() < 2


@pytest.mark.parametrize(
    ("name", "data", "outcome"),
    [
        ("zero bytes", b"", Outcome.UNREADABLE),
        ("text", b"Hello, is this a photo? No, it is text.\n" * 20, Outcome.UNSUPPORTED),
        ("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 10, Outcome.UNSUPPORTED),
        ("1x1", badfiles.encode(Image.new("RGB", (1, 1)), "PNG"), Outcome.TOO_SMALL),
        ("31 px", badfiles.encode(Image.new("RGB", (640, 31)), "PNG"), Outcome.TOO_SMALL),
    ],
)
def test_bad_files_get_typed_outcomes(name: str, data: bytes, outcome: Outcome) -> None:
    assert decode(data).outcome is outcome


def test_truncated_jpeg_is_unreadable(astronaut_jpeg: bytes) -> None:
    assert decode(astronaut_jpeg[: len(astronaut_jpeg) // 2]).outcome is Outcome.UNREADABLE


@pytest.mark.parametrize(
    "start", [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBPVP8 "]
)
def test_damaged_image_is_unreadable_not_unsupported(start: bytes) -> None:
    assert decode(start + b" garbage" * 10).outcome is Outcome.UNREADABLE


def test_corrupt_header_is_unreadable(astronaut_jpeg: bytes) -> None:
    assert decode(astronaut_jpeg[:2] + b"\x00" * 40 + astronaut_jpeg[42:]).outcome in (
        Outcome.UNREADABLE,
        Outcome.UNSUPPORTED,
    )


def test_decompression_bomb_is_refused_from_its_header_with_bounded_memory() -> None:
    bomb = badfiles.png_bomb(30_000)
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    decoded = decode(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert decoded.outcome is Outcome.TOO_LARGE
    assert peak < 20 * 1024 * 1024


def test_more_bytes_than_the_limit_is_too_large(astronaut_jpeg: bytes) -> None:
    assert decode(astronaut_jpeg, Limits(max_bytes=1000)).outcome is Outcome.TOO_LARGE


def test_more_pixels_than_the_limit_is_too_large(astronaut_jpeg: bytes) -> None:
    assert decode(astronaut_jpeg, Limits(max_pixels=512 * 511)).outcome is Outcome.TOO_LARGE


def test_limits_are_configurable(astronaut_jpeg: bytes) -> None:
    assert decode(astronaut_jpeg, Limits(min_side=600)).outcome is Outcome.TOO_SMALL


def test_every_outcome_is_returned_not_raised() -> None:
    rng = np.random.default_rng(0)
    for size in (1, 10, 100, 1000):
        junk = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        for prefix in (b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF"):
            assert decode(prefix + junk).outcome is not Outcome.OK


def test_fast_jpeg_path_matches_pillow(astronaut: np.ndarray) -> None:
    data = badfiles.encode(Image.fromarray(astronaut), "JPEG", quality=95)
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.abs(decode(data).pixels.astype(int) - reference).max() <= 2
