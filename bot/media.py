"""Strip identifying metadata from images a reporter sends as files.

Telegram re-encodes photos, but a picture sent as a *document* arrives byte for byte, with its
EXIF (GPS position, camera serial, time taken), XMP, comments and PNG text chunks. Rather than
deleting known tags, which misses whatever we did not think of, we decode the picture and encode a
new file from the pixels alone: nothing the original carried besides the pixels can survive.
"""

from __future__ import annotations

import io

import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from bot.cleaning import CLEANABLE_TYPES, MetadataError

pillow_heif.register_heif_opener()

# A 48 MP phone photo fits; decoding costs ~3 bytes a pixel, times a few working copies.
MAX_PIXELS = 50_000_000

_DECODERS = ["JPEG", "PNG", "WEBP", "HEIF"]  # Image.open tries only these, never Pillow's other plugins
# Decoded format -> format we write. HEIF becomes JPEG because officers' devices may not open HEIC.
# MPO is how Pillow names a JPEG carrying extra pictures (depth or gain maps): we keep the first.
_OUTPUT = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "JPEG"}
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_KEEP_MODES = {"JPEG": {"L", "RGB"}, "PNG": {"1", "L", "LA", "I", "I;16", "RGB", "RGBA"}, "WEBP": {"RGB", "RGBA"}}
_SRGB = ImageCms.createProfile("sRGB")


def strip_metadata(data: bytes, mime_type: str) -> tuple[bytes, str]:
    """Return (clean bytes, mime type of the clean file).

    Only the first frame of an animated PNG/WebP is kept: a report needs a still picture, every
    extra frame is more pixels to decode (and a cheap way around the pixel limit), and frames carry
    timing and blending state we would have to re-create faithfully. The returned type follows what
    the bytes really are, not `mime_type`. Raises ValueError for a type outside CLEANABLE_TYPES.
    """
    if mime_type not in CLEANABLE_TYPES:
        raise ValueError(f"cannot clean {mime_type!r}")
    try:
        img = Image.open(io.BytesIO(data), formats=_DECODERS)
        if img.width * img.height > MAX_PIXELS:  # read from the header, before any pixel is decoded
            raise MetadataError(f"image too large: {img.width}x{img.height}")
        img.load()
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MetadataError(f"not a decodable image: {exc}") from exc
    fmt = _OUTPUT[img.format]
    try:  # turn the pixels upright, so dropping the orientation tag does not turn the picture over
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - broken EXIF must not block a report; a sideways image is clean
        pass
    img = _normalise(_to_srgb(img), fmt)
    # A new image from the raw pixels: no info dict, no cached EXIF, nothing for save() to copy over.
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    out = io.BytesIO()
    options = {"JPEG": {"quality": 90, "optimize": True}, "WEBP": {"quality": 90}, "PNG": {}}[fmt]
    clean.save(out, format=fmt, **options)
    return out.getvalue(), _MIME[fmt]


def _to_srgb(img: Image.Image) -> Image.Image:
    """Convert pixels from an embedded ICC profile to sRGB, so the profile itself can be dropped.

    Keeping the profile would keep the colours right, but a profile has a creation date, a device
    maker and model, and a calibrated one can be unique to one monitor or scanner. Converting to
    sRGB (what viewers assume for an untagged file) keeps the colours and loses those fields. If the
    profile is unusable we drop it and accept slightly off colours.
    """
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(img, source, _SRGB, outputMode="RGBA" if img.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img


def _normalise(img: Image.Image, fmt: str) -> Image.Image:
    """Bring the pixels to a mode `fmt` can store; JPEG has no alpha, so it is laid on white."""
    if img.mode in _KEEP_MODES[fmt]:
        return img
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    if fmt != "JPEG":
        return img.convert("RGBA" if has_alpha else "RGB")
    if not has_alpha:
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    flat = Image.new("RGB", img.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat
