"""Raw images: anything Pillow reads, as uint8 arrays with a consistent number of channels.

Memory stays close to the decoded image plus the returned array: conversion (to RGB or grey,
transparency onto white, 16 bits to 8) runs strip by strip into the output instead of building
whole converted copies, and a JPEG is decoded at a reduced scale when the caller says how small
it will make the image anyway. An animated image (GIF, WebP, APNG) or a multi-page TIFF gives
its first frame, always.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from ..errors import ImageError
from .sniff import other_format

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
# Pillow's own guard against decompression bombs is a warning at 89 Mpx; we refuse far earlier
# than the model could ever use, and say so.
MAX_PIXELS = 50_000_000
# Pixels converted at a time: a strip of this many costs at most 8 MB, even as float64.
STRIP_PIXELS = 1 << 20
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I", "F")
# What Pillow's decoders raise on damaged files, beyond OSError (found by fuzzing: a TIFF without
# dimensions raises TypeError, damaged tag tables IndexError, KeyError or struct.error).
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, MemoryError, TypeError, IndexError, KeyError, struct.error,
                   ZeroDivisionError)


def load_image(path: str | Path, channels: int | None = None, max_pixels: int = MAX_PIXELS,
               target_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read `path` into a uint8 array: (H, W) for channels=1, (H, W, 3) for channels=3.

    channels=None keeps grayscale images as (H, W) and turns every other mode into RGB.
    Transparency is composited onto white; 16-bit images are scaled to 8 bits; CMYK and palette
    images are converted; an animated image gives its first frame.

    target_size: the smallest (width, height) the caller will shrink the image to, if it does.
    A JPEG is then decoded at 1/2, 1/4 or 1/8 scale where that still covers it, which saves
    up to 64 times the memory and time; other formats are decoded whole. `max_pixels` bounds
    the pixels decoded. Raises ImageError naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise ImageError(path, "no such file")
    if path.stat().st_size == 0:
        raise ImageError(path, "file is empty (zero bytes)")
    draft_size = _checked_size(target_size, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if getattr(image, "n_frames", 1) > 1:
                    image.seek(0)
                if draft_size is not None:
                    image.draft("L" if channels == 1 else None, draft_size)
                _check_pixels(image.size, max_pixels, path)
                image.load()
                return to_array(image, channels, source=path)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(path, f"refused as a decompression bomb: {err}") from None
    except UnidentifiedImageError:
        other = other_format(path, "image")
        raise ImageError(path, f"not an image: the file looks like {other}" if other else
                         "not an image Pillow can read (unknown or unsupported format)") from None
    except _DECODER_ERRORS as err:
        raise ImageError(path, f"cannot decode image (truncated or corrupt?): {err or type(err).__name__}") from None


def _checked_size(target_size, source) -> tuple[int, int] | None:
    if target_size is None:
        return None
    width, height = (int(v) for v in target_size)
    if width < 1 or height < 1:
        raise ImageError(source, f"target_size must be two positive integers, not {target_size}")
    return width, height


def _check_pixels(size: tuple[int, int], max_pixels: int, source) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageError(source, f"image is {width}x{height} = {_megapixels(width * height)}, over the limit of "
                         f"{_megapixels(max_pixels)} (a decompression bomb or a photo far larger than any model input)")


def to_array(image, channels: int | None = None, source=None) -> np.ndarray:
    """A Pillow image as uint8 (H, W) or (H, W, 3), converted strip by strip into the output."""
    if channels not in (None, 1, 3):
        raise ImageError(source, f"channels must be 1, 3 or None, not {channels}")
    grey = image.mode in ("L", "1") or image.mode in _WIDE_MODES
    out_mode = "L" if channels == 1 or (channels is None and grey) else "RGB"
    # A wide image is scaled by its own range, which a strip alone cannot tell.
    top = None
    if image.mode in _WIDE_MODES:
        top = 65535.0 if image.mode.startswith("I;16") or image.getextrema()[1] > 255 else 255.0
    width, height = image.size
    out = np.empty((height, width) if out_mode == "L" else (height, width, 3), dtype=np.uint8)
    rows = max(1, STRIP_PIXELS // max(width, 1))
    for y in range(0, height, rows):
        strip = image.crop((0, y, width, min(y + rows, height)))
        out[y:y + rows] = np.asarray(_convert(strip, out_mode, top))
    return out


def _convert(strip, out_mode: str, top: float | None):
    """One strip in `out_mode`: wide values scaled by `top`, transparency composited onto white."""
    from PIL import Image

    if top is not None:
        array = np.asarray(strip, dtype=np.float64)
        strip = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    elif strip.mode in ("RGBA", "LA", "PA") or (strip.mode == "P" and "transparency" in strip.info):
        rgba = strip.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        strip = Image.alpha_composite(background, rgba)
    return strip if strip.mode == out_mode else strip.convert(out_mode)


def as_image(item, channels: int | None = None, max_pixels: int = MAX_PIXELS, target_size: tuple[int, int] | None = None) -> np.ndarray:
    """One raw image item as a uint8 array: a path is loaded; an array is checked and converted.

    Float arrays are taken to be in [0, 1] (or [-1, 1] when negative values occur) and scaled.
    An array over `max_pixels` is refused like a file would be. `target_size` is passed to
    :func:`load_image` for paths.
    """
    if isinstance(item, (str, Path)):
        return load_image(item, channels, max_pixels=max_pixels, target_size=target_size)
    array = np.asarray(item)
    if not (array.dtype == np.bool_ or np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ImageError(None, f"image array must hold numbers, not {array.dtype}")
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[2] not in (1, 3):
        array = np.moveaxis(array, 0, -1)  # (C, H, W) -> (H, W, C)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(None, f"expected an image array (H, W) or (H, W, 3), got shape {array.shape}")
    if array.size == 0:
        raise ImageError(None, "image array is empty")
    _check_pixels((array.shape[1], array.shape[0]), max_pixels, None)
    if array.dtype != np.uint8:
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            raise ImageError(None, "image array contains NaN or infinite values")
        low, high = array.min(), array.max()
        if low < 0:
            array = (array + 1.0) / 2.0
        elif high > 1.0:
            array = array / (255.0 if high <= 255 else high)
        array = np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    if channels == 1 and array.ndim == 3:
        array = np.asarray(np.round(array @ np.array([0.299, 0.587, 0.114])), dtype=np.uint8)
    elif channels == 3 and array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif channels not in (None, 1, 3):
        raise ImageError(None, f"channels must be 1, 3 or None, not {channels}")
    return array


def _megapixels(pixels: int) -> str:
    """A pixel count for a person: "49 Mpx", "0.006 Mpx" (three significant digits at most)."""
    return f"{pixels / 1e6:.3g} Mpx"
