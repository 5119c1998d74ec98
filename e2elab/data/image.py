"""Raw images: anything Pillow reads, as uint8 arrays with a consistent number of channels."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import ImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
# Pillow's own guard against decompression bombs is a warning at 89 Mpx; we refuse far earlier
# than the model could ever use, and say so.
MAX_PIXELS = 50_000_000


def load_image(path: str | Path, channels: int | None = None, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read `path` into a uint8 array: (H, W) for channels=1, (H, W, 3) for channels=3.

    channels=None keeps grayscale images as (H, W) and turns every other mode into RGB.
    Transparency is composited onto white; 16-bit images are scaled to 8 bits; CMYK and palette
    images are converted. Raises ImageError naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise ImageError(path, "no such file")
    if path.stat().st_size == 0:
        raise ImageError(path, "file is empty (zero bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageError(path, f"image is {width}x{height} = {width * height / 1e6:.0f} Mpx, over the limit of "
                                     f"{max_pixels / 1e6:.0f} Mpx (a decompression bomb or a photo far larger than any model input)")
                image.load()
                return to_array(image, channels, source=path)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(path, f"refused as a decompression bomb: {err}") from None
    except UnidentifiedImageError:
        raise ImageError(path, "not an image Pillow can read (unknown or unsupported format)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(path, f"cannot decode image (truncated or corrupt?): {err}") from None


def to_array(image, channels: int | None = None, source=None) -> np.ndarray:
    """A Pillow image as uint8 (H, W) or (H, W, 3)."""
    from PIL import Image

    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    gray = image.mode in ("L", "1")
    if channels == 1 or (channels is None and gray):
        image = image.convert("L")
    elif channels in (None, 3):
        image = image.convert("RGB")
    else:
        raise ImageError(source, f"channels must be 1, 3 or None, not {channels}")
    return np.asarray(image, dtype=np.uint8).copy()


def as_image(item, channels: int | None = None) -> np.ndarray:
    """One raw image item as a uint8 array: a path is loaded; an array is checked and converted.

    Float arrays are taken to be in [0, 1] (or [-1, 1] when negative values occur) and scaled.
    """
    if isinstance(item, (str, Path)):
        return load_image(item, channels)
    array = np.asarray(item)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[2] not in (1, 3):
        array = np.moveaxis(array, 0, -1)  # (C, H, W) -> (H, W, C)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(None, f"expected an image array (H, W) or (H, W, 3), got shape {array.shape}")
    if array.size == 0:
        raise ImageError(None, "image array is empty")
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
    return array
