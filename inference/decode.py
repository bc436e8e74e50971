"""Photo bytes to upright RGB pixels, refusing anything too big, too small or unreadable.

Limits are checked against the byte count and the header's dimensions before any pixel is
decoded, so a decompression bomb costs a header read. Memory stays within one photo's: a large
JPEG is decoded reduced (libjpeg's 1/2, 1/4, 1/8), formats that must be decoded whole are
refused above `max_full_pixels`, only the first frame or page is read, and anything over
`work_pixels` is reduced before its colours are converted. Refusals are `Decoded` outcomes;
no exception escapes.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, UnidentifiedImageError

from xinh.inference.types import Decoded, Limits, Outcome

ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF"})
# How the accepted formats begin: bytes that start so but do not open are a damaged image.
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\0", b"MM\0*")
_HEIF_READY = False
_ORIENTATION = 0x0112  # the EXIF tag
# Each EXIF orientation's turn to upright, as PIL.ImageOps.exif_transpose makes it.
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, 3),
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: np.rot90(a),
}


def _enable_heif() -> None:
    """Register pillow-heif's opener once, on first use rather than at import."""
    global _HEIF_READY
    if not _HEIF_READY:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _HEIF_READY = True


def decode(data: bytes, limits: Limits | None = None) -> Decoded:
    """Decode photo bytes into an upright HxWx3 uint8 RGB array, or say why not."""
    limits = limits or Limits()
    if not data:
        return Decoded(Outcome.UNREADABLE, detail="empty")
    if len(data) > limits.max_bytes:
        return Decoded(Outcome.TOO_LARGE, detail=f"{len(data)} bytes")
    _enable_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Decoded(Outcome.TOO_LARGE, detail="decompression bomb")
    except UnidentifiedImageError:
        if _looks_like_image(data):
            return Decoded(Outcome.UNREADABLE, detail="damaged image")
        return Decoded(Outcome.UNSUPPORTED, detail="not an image")
    except Exception as exc:  # PIL raises many kinds on corrupt headers
        return Decoded(Outcome.UNREADABLE, detail=type(exc).__name__)
    with image:
        if image.format not in ACCEPTED_FORMATS:
            return Decoded(Outcome.UNSUPPORTED, detail=str(image.format))
        refusal = _refusal(image, limits)
        if refusal is not None:
            return refusal
        try:
            if _fast_jpeg(image, data, limits):
                orientation = image.getexif().get(_ORIENTATION, 1)
                return Decoded(Outcome.OK, pixels=_decode_jpeg(data, orientation))
            _draft(image, limits)
            pixels = _to_rgb(ImageOps.exif_transpose(_reduced(image, limits)))
        except Exception as exc:  # truncated or corrupt pixel data
            return Decoded(Outcome.UNREADABLE, detail=type(exc).__name__)
    return Decoded(Outcome.OK, pixels=pixels)


def _refusal(image: Image.Image, limits: Limits) -> Decoded | None:
    """Why the header's size alone refuses the photo, or None."""
    width, height = image.size
    size = f"{width}x{height}"
    if min(width, height) < limits.min_side:
        return Decoded(Outcome.TOO_SMALL, detail=size)
    if width * height > limits.max_pixels:
        return Decoded(Outcome.TOO_LARGE, detail=size)
    if image.format not in ("JPEG", "MPO") and width * height > limits.max_full_pixels:
        return Decoded(Outcome.TOO_LARGE, detail=f"{size} {image.format} is decoded whole")
    if max(width, height) > limits.max_aspect * min(width, height):
        return Decoded(Outcome.UNSUPPORTED, detail=f"{size}: longer than {limits.max_aspect}:1")
    return None


def _draft(image: Image.Image, limits: Limits) -> None:
    """Let libjpeg decode a large JPEG at 1/2, 1/4 or 1/8 size, within `work_pixels`."""
    width, height = image.size
    if image.format in ("JPEG", "MPO") and width * height > limits.work_pixels:
        share = (limits.work_pixels / (width * height)) ** 0.5 / 2
        image.draft(image.mode, (max(1, int(width * share) + 1), max(1, int(height * share) + 1)))


def _reduced(image: Image.Image, limits: Limits) -> Image.Image:
    """The first frame, decoded, box-reduced by a whole factor to within `work_pixels`."""
    image.load()
    factor = int(np.ceil((image.width * image.height / limits.work_pixels) ** 0.5))
    if factor > 1 and image.mode in ("L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F"):
        return image.reduce(factor)
    return image


def _looks_like_image(data: bytes) -> bool:
    """Whether the bytes begin like one of the accepted formats."""
    is_webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    is_heif = data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif")
    return data.startswith(_IMAGE_SIGNATURES) or is_webp or is_heif


def _fast_jpeg(image: Image.Image, data: bytes, limits: Limits) -> bool:
    """A complete RGB or grey JPEG within `work_pixels`, which libjpeg-turbo decodes straight to
    RGB far faster than PIL."""
    return (
        image.format == "JPEG"
        and image.mode in ("RGB", "L")
        and image.width * image.height <= limits.work_pixels
        and data.rstrip(b"\0").endswith(b"\xff\xd9")
    )


def _decode_jpeg(data: bytes, orientation: int) -> np.ndarray:
    """Decode with libjpeg-turbo (simplejpeg: the pixels OpenCV gives, a tenth faster), then
    turn the pixels upright as the EXIF `orientation` says."""
    rgb = simplejpeg.decode_jpeg(data, colorspace="RGB")
    turn = _UPRIGHT.get(orientation)
    return np.ascontiguousarray(turn(rgb)) if turn else rgb


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Any PIL mode (grey, 16-bit, palette, CMYK, alpha) to contiguous uint8 RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.uint32)
        scale = 257 if wide.max(initial=0) > 255 else 1
        grey = (wide // scale).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float32).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
        alpha = rgba[..., 3:].astype(np.uint16)
        flat = (rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return np.ascontiguousarray(flat.astype(np.uint8))
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
