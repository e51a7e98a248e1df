"""bot.media: images sent as files lose every byte of metadata, and still look the same."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from bot.media import CLEANABLE_TYPES, MAX_PIXELS, MetadataError, strip_metadata

ARTIST = "Reporter Name Zq7"
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><dc:creator>XmpZq7</dc:creator></rdf:RDF></x:xmpmeta>'
RED, BLUE = (220, 20, 20), (20, 20, 220)


def identifying_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMakerZq7"  # Make
    exif[0x0110] = "ModelZq7"  # Model
    exif[0x013B] = ARTIST  # Artist
    exif[0x0112] = orientation
    exif.get_ifd(EXIF_IFD)[0x9003] = "2024:05:01 10:11:12"  # DateTimeOriginal
    exif.get_ifd(GPS_IFD).update(
        {1: "N", 2: (52.0, 22.0, 12.5), 3: "E", 4: (4.0, 53.0, 30.0), 0x1B: b"ASCII\0\0\0GPS-Zq7"}
    )
    return exif


def picture(mode: str = "RGB", size: tuple[int, int] = (96, 48)) -> Image.Image:
    """Blue, with a red block in the top-left corner, so a rotation shows where that corner went."""
    img = Image.new(mode, size, BLUE)
    img.paste(RED, (0, 0, size[0] // 3, size[1] // 3))
    return img


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def assert_no_identity(out: bytes) -> None:
    for marker in (b"Exif", b"GPS", ARTIST.encode(), b"Zq7", b"xmpmeta", b"http://ns.adobe.com/xap"):
        assert marker not in out, marker


def test_jpeg_loses_gps_exif_xmp_comment_and_is_turned_upright() -> None:
    original = encode(picture(), "JPEG", exif=identifying_exif(orientation=6), xmp=XMP, comment=b"CommentZq7")
    with Image.open(io.BytesIO(original)) as check:  # the input really carries what we strip
        assert check.getexif().get_ifd(GPS_IFD)[2] == (52.0, 22.0, 12.5)
        assert ARTIST.encode() in original and b"XmpZq7" in original and b"CommentZq7" in original

    out, mime = strip_metadata(original, "image/jpeg")

    assert mime == "image/jpeg"
    assert_no_identity(out)
    with Image.open(io.BytesIO(out)) as img:
        img.load()
        assert img.format == "JPEG"
        exif = img.getexif()
        assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
        assert not {"exif", "xmp", "comment", "icc_profile"} & img.info.keys()
        # Orientation 6 means "rotate 90° clockwise to view": 96x48 becomes 48x96 and the red
        # top-left corner ends up top-right.
        assert img.size == (48, 96)
        assert near(img.getpixel((40, 5)), RED) and near(img.getpixel((5, 5)), BLUE)


def linear_rgb_profile() -> bytes:
    """sRGB's primaries with a linear tone curve (gamma 1.0): a profile whose pixels differ from sRGB."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack_from(">I", icc, 128)
    for i in range(count):
        sig, offset, _ = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        if sig in (b"rTRC", b"gTRC", b"bTRC"):
            # ICC parametric curve type 3: Y = (aX+b)^g if X >= d else cX; linear is g=a=c=1, b=d=0.
            assert icc[offset : offset + 4] == b"para" and struct.unpack_from(">H", icc, offset + 8) == (3,)
            struct.pack_into(">5i", icc, offset + 12, 1 << 16, 1 << 16, 0, 1 << 16, 0)
    return bytes(icc)


def test_icc_profile_is_applied_to_the_pixels_then_dropped() -> None:
    grey = Image.new("RGB", (32, 32), (128, 128, 128))
    out, _ = strip_metadata(encode(grey, "PNG", icc_profile=linear_rgb_profile()), "image/png")
    assert b"iCCP" not in out and b"acsp" not in out  # acsp: the signature in every ICC header
    with Image.open(io.BytesIO(out)) as img:
        assert "icc_profile" not in img.info
        # Linear 128/255 is sRGB ~188: the colours were converted, not just left untagged.
        assert near(img.getpixel((5, 5)), (188, 188, 188), tolerance=3)


def test_jpeg_with_extra_pictures_keeps_only_the_first() -> None:
    """Phones store depth or HDR maps as extra JPEGs (MPO), each with EXIF of its own."""
    original = encode(
        picture(), "MPO", save_all=True, append_images=[picture(size=(20, 20))], exif=identifying_exif()
    )
    assert Image.open(io.BytesIO(original)).n_frames == 2

    out, mime = strip_metadata(original, "image/jpeg")

    assert mime == "image/jpeg"
    assert_no_identity(out)
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "JPEG" and getattr(img, "n_frames", 1) == 1 and img.size == (96, 48)


def test_png_text_chunks_and_exif_do_not_survive() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Zq7 Person")  # tEXt
    info.add_text("Comment", "written near Zq7 street", zip=True)  # zTXt
    info.add_itxt("Location", "52.3702 N, 4.8952 E (Zq7)", lang="en")  # iTXt
    original = encode(picture("RGBA"), "PNG", pnginfo=info, exif=identifying_exif())
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf"):
        assert chunk in original

    out, mime = strip_metadata(original, "image/png")

    assert mime == "image/png"
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"):
        assert chunk not in out, chunk
    assert_no_identity(out)
    with Image.open(io.BytesIO(out)) as img:
        img.load()
        assert not {"Author", "Comment", "Location", "exif"} & img.info.keys()
        assert img.text == {}
        assert img.mode == "RGBA" and near(img.getpixel((5, 5)), RED, tolerance=0)


def test_webp_exif_and_xmp_do_not_survive() -> None:
    original = encode(picture(), "WEBP", exif=identifying_exif(), xmp=XMP)
    assert b"EXIF" in original and b"XMP " in original

    out, mime = strip_metadata(original, "image/webp")

    assert mime == "image/webp"
    assert b"EXIF" not in out and b"XMP " not in out
    assert_no_identity(out)
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "WEBP" and len(img.getexif()) == 0 and "xmp" not in img.info


def test_animated_webp_keeps_only_the_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), RED), Image.new("RGB", (32, 32), BLUE)]
    original = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=identifying_exif())
    assert Image.open(io.BytesIO(original)).n_frames == 2

    out, _ = strip_metadata(original, "image/webp")

    assert_no_identity(out)
    with Image.open(io.BytesIO(out)) as img:
        assert getattr(img, "n_frames", 1) == 1 and near(img.convert("RGB").getpixel((16, 16)), RED)


def test_heic_becomes_jpeg_without_exif() -> None:
    pytest.importorskip("pillow_heif")
    original = encode(picture(), "HEIF", exif=identifying_exif(), xmp=XMP, quality=90)
    with Image.open(io.BytesIO(original)) as check:
        assert check.format == "HEIF" and check.getexif()[0x013B] == ARTIST

    out, mime = strip_metadata(original, "image/heic")

    assert mime == "image/jpeg" and out.startswith(b"\xff\xd8")
    assert_no_identity(out)
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "JPEG" and len(img.getexif()) == 0 and img.size == (96, 48)
        assert near(img.getpixel((5, 5)), RED) and near(img.getpixel((90, 40)), BLUE)


def test_cleanable_types() -> None:
    assert CLEANABLE_TYPES == {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
    with pytest.raises(ValueError):
        strip_metadata(encode(picture(), "GIF"), "image/gif")


@pytest.mark.parametrize(
    "data",
    [
        b"not an image",
        encode(picture(), "GIF"),  # a real image, but not one of the formats we decode
        encode(picture(), "JPEG")[:200],  # truncated
    ],
    ids=["text", "gif", "truncated-jpeg"],
)
def test_undecodable_input_raises_metadata_error(data: bytes) -> None:
    with pytest.raises(MetadataError):
        strip_metadata(data, "image/jpeg")


def png(width: int, height: int, *, pixels: bool) -> bytes:
    """A greyscale PNG of that size: all black if `pixels`, else a header followed by a tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    squeeze = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte + one byte a pixel
    idat = b"".join(squeeze.compress(row) for _ in range(height if pixels else 1)) + squeeze.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_png_helper_makes_a_valid_image() -> None:
    out, _ = strip_metadata(png(300, 200, pixels=True), "image/png")
    assert Image.open(io.BytesIO(out)).size == (300, 200)


@pytest.mark.parametrize(
    "data",
    [png(100_000, 100_000, pixels=False), png(10_000, 5_001, pixels=True)],
    ids=["10-gigapixel-header", "valid-just-over-limit"],
)
def test_decompression_bomb_is_refused_quickly(data: bytes) -> None:
    width, height = struct.unpack_from(">II", data, 16)
    assert width * height > MAX_PIXELS
    started = time.monotonic()
    with pytest.raises(MetadataError, match="too large|decompression bomb"):
        strip_metadata(data, "image/png")
    assert time.monotonic() - started < 0.5


def test_transparent_heic_is_laid_on_white_for_jpeg() -> None:
    pytest.importorskip("pillow_heif")
    original = encode(Image.new("RGBA", (16, 16), (255, 0, 0, 0)), "HEIF", quality=90)
    out, mime = strip_metadata(original, "image/heif")
    with Image.open(io.BytesIO(out)) as img:
        assert mime == "image/jpeg" and img.mode == "RGB" and near(img.getpixel((8, 8)), (255, 255, 255), 5)
