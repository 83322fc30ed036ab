"""Image checks and Instagram-ready copies: pure functions on paths and bytes.

An iPhone's HEIC photo (HEIF), which most web browsers and Instagram do not show, is read
with pi-heif (imported only when such a file is met) and goes to the site and Instagram
as a JPEG.

Instagram's content publishing API refuses images outside its limits (see META-GRAPH.md):
JPEG only (extended JPEG such as MPO is refused), at most 8 MiB, aspect ratio between
4:5 and 1.91:1, 320 to 1440 px wide. `instagram_image` turns any image Pillow can read
into a copy that meets all of them.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import mmap
import os
import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.files import existing_status

if TYPE_CHECKING:
    from PIL import Image

# Pillow is imported where a picture is read (its import is a tenth of a rebuild's start,
# and a rebuild whose photos were all read before needs none of it).

IG_MIN_RATIO = 4 / 5
IG_MAX_RATIO = 1.91
IG_WIDTH = 1080
IG_MAX_BYTES = 8 * 1024 * 1024

FITS = ("pad", "crop")

# Rounding the height to whole pixels must not push the ratio outside Meta's range.
_MIN_HEIGHT = math.ceil(IG_WIDTH / IG_MAX_RATIO)
_MAX_HEIGHT = math.floor(IG_WIDTH / IG_MIN_RATIO)
_QUALITIES = (88, 82, 76, 70, 64, 58, 52, 46, 40)
# EXIF orientations 5 to 8 turn the picture a quarter, so width and height swap.
_QUARTER_TURNS = {5, 6, 7, 8}


@functools.cache
def _decode_errors() -> tuple[type[BaseException], ...]:
    """What Pillow raises for data it cannot decode; it has no single base class for this
    (pi-heif: ValueError, for an HEIC photo cut short)."""
    from PIL import Image

    return (OSError, SyntaxError, EOFError, ValueError, struct.error, Image.DecompressionBombError)


@dataclass(frozen=True)
class ImageInfo:
    """What an image file holds: its size as displayed and its format."""

    width: int
    height: int
    format: str  # "JPEG", "PNG", "WEBP", "GIF", or whatever else Pillow names it
    animated: bool = False  # more than one frame (a GIF, WebP or PNG that moves)
    located: bool = False  # holds where it was taken (a phone camera's GPS data)


@dataclass(frozen=True)
class _Layout:
    """Where a source image goes on the Instagram canvas."""

    canvas: tuple[int, int]
    box: tuple[float, float, float, float]  # the part of the source that is shown
    size: tuple[int, int]  # what that part is resized to
    offset: tuple[int, int]  # where it is pasted on the canvas


class ImageUnusable(ValueError):
    """An image file the website cannot use. Its text says what is wrong with the file and
    what to do, to follow its name: f"image {name!r} {error}"."""


class ImageTooLarge(ImageUnusable):
    """An image with more pixels than Pillow opens (its guard against decompression bombs)."""


# What web browsers show, as Pillow names it (MPO: a camera's JPEG with a second picture in
# it, shown as a JPEG). A TIFF, BMP or ICO would be copied to the site and shown as a
# broken image.
WEB_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
# What goes to the site as a JPEG copy: an iPhone's HEIC photo, which only Safari shows, and
# an AVIF, which older browsers and link previews (Facebook's among them) may not show.
TO_JPEG = {"HEIF", "AVIF"}
# The brands an HEIC photo's first box names (iPhones write "heic", cameras "heix"); an
# AVIF names "avif", which Pillow reads by itself. "mif1" alone may be either: left to Pillow.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_NOT_AN_IMAGE = "is not an image file (JPEG, PNG, WebP or GIF): export it again as a JPEG"
_A_VIDEO = (
    "is a video: the website and Instagram get photos from publisher, not videos. Use a photo "
    "(a still of the video, for one), and put the video's YouTube or Facebook address in the "
    "text as a link"
)
_A_PDF = "is a PDF: export its page as a JPEG (or PNG) and name that file"
_AN_SVG = (
    "is an SVG drawing, which Facebook and Instagram do not take: export it as a PNG and "
    "name that file"
)
# The first bytes of videos (MP4 and QuickTime, from phones; WebM, AVI) and of a PDF.
_VIDEO_BRANDS = (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"qt  ", b"M4V ", b"3gp4", b"3gp5")


def _not_an_image(head: bytes) -> str:
    """What to say of a file Pillow cannot read, from its first bytes."""
    if head.startswith(b"%PDF"):
        return _A_PDF
    if (head[4:8] == b"ftyp" and head[8:12] in _VIDEO_BRANDS) or head[4:8] in (b"moov", b"mdat"):
        return _A_VIDEO
    if head.startswith(b"\x1aE\xdf\xa3") or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return _A_VIDEO
    if b"<svg" in head or head.lstrip().startswith(b"<?xml"):
        return _AN_SVG
    return _NOT_AN_IMAGE


DAMAGED = (
    "is damaged inside (its picture cannot be read whole): export it again as a JPEG, or "
    "copy it again"
)
_CUT_SHORT = (
    "is cut short (the file ends before the end of the picture): copy it again, or export it "
    "again as a JPEG"
)


def inspect_image(path: Path) -> ImageInfo:
    """Read an image's displayed size and format from its header, without decoding pixels.

    A file the website cannot use (not an image, cut short, too big to open, a format
    browsers do not show) raises ImageUnusable; a missing one, FileNotFoundError."""
    from PIL import Image

    with open(path, "rb") as file:  # a missing file is not a damaged one: let OSError through
        heif = False
        try:
            if heif := _heif(file.read(12)):
                _read_heif()
            file.seek(0)
            with _large_photos_allowed(), Image.open(file) as image:
                width, height = image.size
                orientation, located = _camera_data(image)
                if orientation in _QUARTER_TURNS:
                    width, height = height, width
                image_format = image.format or "unknown"
                # a camera's MPO holds a second, smaller picture: it does not move
                animated = bool(getattr(image, "is_animated", False)) and image_format != "MPO"
                # Checks integrity without decoding: PNG chunk checksums, for one.
                image.verify()
        except Image.DecompressionBombError as error:
            found = re.search(r"\((\d+) pixels\)", str(error))
            pixels = f"{int(found.group(1)) / 1e6:.0f} million pixels" if found else "more pixels"
            raise ImageTooLarge(
                f"has {pixels}, more than publisher opens "
                f"({Image.MAX_IMAGE_PIXELS * 2 / 1e6:.0f} million): export it smaller (4000 px "
                "wide is plenty for the website and Instagram)"
            ) from None
        except _decode_errors() as error:
            if not os.fstat(file.fileno()).st_size:
                raise ImageUnusable("is an empty file (0 bytes): copy the photo again") from None
            if "runcated" in str(error) or heif:  # (pi-heif reads a whole HEIC photo's layout)
                raise ImageUnusable(_CUT_SHORT) from error
            file.seek(0)
            raise ImageUnusable(_not_an_image(file.read(12))) from error
        if image_format in ("JPEG", "MPO") and not _jpeg_is_complete(file):
            raise ImageUnusable(_CUT_SHORT)
    if image_format not in WEB_FORMATS and image_format not in TO_JPEG:
        raise ImageUnusable(
            f"is {'an' if image_format[0] in 'AEIOU' else 'a'} {image_format} image, which "
            "web browsers do not show: export it as a "
            "JPEG (or PNG, WebP or GIF)"
        )
    return ImageInfo(
        width=width, height=height, format=image_format, animated=animated, located=located
    )


def _heif(head: bytes) -> bool:
    """Whether a file starting with `head` (its first 12 bytes or more) is an HEIF photo."""
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


_HEIF_READ: list[bool] = []


def _read_heif() -> None:
    """Teach Pillow HEIF, once per process (pi-heif's import is not paid by builds without)."""
    if not _HEIF_READ:
        import pi_heif

        pi_heif.register_heif_opener()
        _HEIF_READ.append(True)


def _open(data: bytes) -> Image.Image:
    """Image.open on an image's bytes, HEIF included."""
    from PIL import Image

    if _heif(data[:12]):
        _read_heif()
    with _large_photos_allowed():
        return Image.open(io.BytesIO(data))


def site_name(name: str, info: ImageInfo) -> str:
    """The name of an image's file on the site: its own, or for an HEIC photo or an AVIF
    (TO_JPEG) the same with .jpg, since the site gets a JPEG of it."""
    if info.format not in TO_JPEG:
        return name
    stem, dot, _ = name.rpartition(".")
    return f"{stem if dot else name}.jpg"


@contextlib.contextmanager
def _large_photos_allowed() -> Iterator[None]:
    """No DecompressionBombWarning for a big phone photo (100 million pixels and more):
    publisher reads only its header here, and decodes it for Instagram at a fraction of
    its size. Past twice that, Pillow still refuses it (ImageTooLarge)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


_INSPECTED: dict[tuple[int, int, int, int], ImageInfo] = {}


def inspect_image_once(path: Path) -> ImageInfo:
    """inspect_image, read once per version of a file (a post names its photo twice, and
    hard links to one file are one file). A file that is not an image is read again."""
    info = existing_status(path)
    key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    found = _INSPECTED.get(key)
    if found is None:
        found = inspect_image(path)
        if len(_INSPECTED) >= 4096:
            _INSPECTED.clear()
        _INSPECTED[key] = found
    return found


def instagram_image(data: bytes, *, fit: str = "pad", background: str = "#ffffff") -> bytes:
    """Make a baseline sRGB JPEG, 1080 px wide, in Instagram's ratio and size limits."""
    from PIL import Image, ImageColor, ImageOps

    if fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(map(repr, FITS))}, not {fit!r}")
    try:
        fill = ImageColor.getrgb(background)[:3]
    except ValueError as error:
        raise ValueError(
            f"background {background!r} is not a colour; use a name or '#rrggbb'"
        ) from error

    try:
        image = _open(data)
        width, height = image.size
        if _orientation(image) in _QUARTER_TURNS:
            width, height = height, width
        # A JPEG decodes at 1/2, 1/4 or 1/8 scale for almost nothing: a 6000 px photo
        # then never exists in memory at full size.
        scale = _scale(_layout(width, height, fit))
        image.draft(
            None, (max(1, math.ceil(image.width * scale)), max(1, math.ceil(image.height * scale)))
        )
        image.load()
        icc_profile = image.info.get("icc_profile")
        ImageOps.exif_transpose(image, in_place=True)
    except _decode_errors() as error:
        raise ValueError(f"the data is not an image Pillow can read ({error})") from error

    image = _plain_mode(image)
    layout = _layout(image.width, image.height, fit)
    image = image.resize(layout.size, Image.Resampling.LANCZOS, box=layout.box, reducing_gap=3.0)
    colour, alpha = _to_srgb(image, icc_profile)
    canvas = Image.new("RGB", layout.canvas, fill)
    canvas.paste(colour, layout.offset, alpha)
    return _encode_jpeg(canvas, IG_MAX_BYTES)


# The website's copy of a large photo: a photo fills at most about 1,000 CSS pixels of the
# page, twice that on a sharp screen. A phone's 4032 px photo is read at half size for
# almost nothing (JPEG's draft mode), then brought to this.
WEB_MAX_SIDE = 2000
WEB_QUALITY = 85


def web_size(info: ImageInfo) -> tuple[int, int] | None:
    """The size of the website's copy of an image (displayed width, height), or None when
    the file goes to the site as it is: no side over WEB_MAX_SIDE, a GIF, or a picture that
    moves (a copy would keep its first frame). An HEIC photo always has a copy (a JPEG)."""
    long_side = max(info.width, info.height)
    if info.format in TO_JPEG:  # a JPEG of it at any size
        scale = min(1.0, WEB_MAX_SIDE / long_side)
    elif long_side <= WEB_MAX_SIDE or info.format == "GIF" or info.animated:
        return None
    else:
        scale = WEB_MAX_SIDE / long_side
    return max(1, round(info.width * scale)), max(1, round(info.height * scale))


# A card in a list shows its photo at most about 400 CSS pixels wide, twice that on a sharp
# screen: a photo much wider gets a copy this wide for the cards (and for the article's
# hero on a phone, through srcset), instead of sending the 2,000 px copy to every card.
CARD_WIDTH = 800


def card_size(info: ImageInfo) -> tuple[int, int] | None:
    """The size of the cards' copy of a photo, or None when the photo itself (or its website
    copy) is small enough, a GIF, or a picture that moves."""
    if info.width <= CARD_WIDTH * 5 // 4 or info.format == "GIF" or info.animated:
        return None
    return CARD_WIDTH, max(1, round(info.height * CARD_WIDTH / info.width))


def web_image(data: bytes, size: tuple[int, int]) -> bytes:
    """The website's copy of a large photo, at `size` (web_size): turned upright, in sRGB,
    in its own format (a camera's MPO and an iPhone's HEIC as a JPEG), without the camera's data (where and
    when it was taken), which a page has no need to give away."""
    from PIL import Image, ImageOps

    try:
        image = _open(data)
        image_format = "JPEG" if image.format in ("JPEG", "MPO", *TO_JPEG) else image.format
        stored = size[::-1] if _orientation(image) in _QUARTER_TURNS else size
        image.draft(None, stored)
        image.load()
        icc_profile = image.info.get("icc_profile")
        ImageOps.exif_transpose(image, in_place=True)
    except _decode_errors() as error:
        raise ImageUnusable(DAMAGED) from error
    image = _plain_mode(image).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    colour, alpha = _to_srgb(image, icc_profile)
    buffer = io.BytesIO()
    if image_format == "JPEG":
        colour.save(buffer, "JPEG", quality=WEB_QUALITY, optimize=True, progressive=True)
    else:
        if alpha is not None:
            colour.putalpha(alpha)
        options = {"quality": WEB_QUALITY} if image_format == "WEBP" else {}
        colour.save(buffer, image_format, **options)
    return buffer.getvalue()


def _camera_data(image: Image.Image) -> tuple[int | None, bool]:
    """The image's EXIF orientation, and whether its camera data says where it was taken
    (EXIF's GPS, or XMP's), from one reading of the header's data."""
    from PIL import Image

    orientation, located = None, False
    if data := image.info.get("exif"):
        exif = Image.Exif()
        exif.load(data)
        orientation, located = exif.get(0x0112), bool(exif.get(0x8825))  # 0x8825: GPS
    if not located and (xmp := image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")):
        located = (b"GPSLatitude" if isinstance(xmp, bytes) else "GPSLatitude") in xmp
    return orientation, located


def without_location(data: bytes) -> bytes:
    """A JPEG as it is, picture and colour profile untouched, without the camera's data
    (EXIF and XMP: where and when it was taken) but for which way up it is shown."""
    from PIL import Image

    parts, position, orientation = [data[:2]], 2, None
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            parts.append(data[position : position + 1])
            position += 1
            continue
        if marker in (0xDA, 0xD9):  # the picture itself follows
            break
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        payload = data[position + 4 : end]
        if marker == 0xE1 and payload.startswith(b"Exif\0\0"):
            if orientation is None:  # (the first, as Pillow reads it; a damaged one is dropped)
                with contextlib.suppress(*_decode_errors()):
                    exif = Image.Exif()
                    exif.load(payload)
                    orientation = exif.get(0x0112)
        elif marker != 0xE1 or not payload.startswith(b"http://ns.adobe.com/xap/1.0/"):
            parts.append(data[position:end])
        position = end
    if orientation not in (None, 1):
        kept = Image.Exif()
        kept[0x0112] = orientation
        payload = kept.tobytes()
        segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
        at = 2 if len(parts) > 1 and parts[1][:2] == b"\xff\xe0" else 1  # after JFIF's APP0
        parts.insert(at, segment)
    return b"".join([*parts, data[position:]])


def _orientation(image: Image.Image) -> int | None:
    """The EXIF orientation found while reading the header (getexif() may decode a PNG)."""
    return _camera_data(image)[0]


def _layout(width: int, height: int, fit: str) -> _Layout:
    """Work out the canvas and the source region for an image of this size."""
    ratio = width / height
    clamped = min(max(ratio, IG_MIN_RATIO), IG_MAX_RATIO)
    canvas = (IG_WIDTH, min(max(round(IG_WIDTH / clamped), _MIN_HEIGHT), _MAX_HEIGHT))
    target = canvas[0] / canvas[1]
    if fit == "pad" and not IG_MIN_RATIO <= ratio <= IG_MAX_RATIO:
        scale = min(canvas[0] / width, canvas[1] / height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        offset = ((canvas[0] - size[0]) // 2, (canvas[1] - size[1]) // 2)
        return _Layout(canvas, (0, 0, width, height), size, offset)
    # Centre crop; for ratios already in range this trims less than a pixel of output
    # rather than stretching the picture to the rounded canvas.
    if ratio > target:
        shown = height * target
        box = ((width - shown) / 2, 0, (width + shown) / 2, height)
    else:
        shown = width / target
        box = (0, (height - shown) / 2, width, (height + shown) / 2)
    return _Layout(canvas, box, canvas, (0, 0))


def _scale(layout: _Layout) -> float:
    """How much the layout shrinks (below 1) or enlarges (above 1) the source."""
    left, top, right, bottom = layout.box
    return max(layout.size[0] / (right - left), layout.size[1] / (bottom - top))


def _plain_mode(image: Image.Image) -> Image.Image:
    """Convert to L, LA, RGB, RGBA or CMYK: the modes resizing and ImageCms handle."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        if image.has_transparency_data and mode in ("L", "RGB"):
            return image.convert("RGBA")  # a tRNS colour key becomes real alpha
        return image
    if mode.startswith("I"):
        # 16-bit greyscale: Pillow's own conversion clips everything above 255 to white.
        return image.point(lambda value: value / 256).convert("L")
    if mode == "La":
        return image.convert("LA")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _to_srgb(
    image: Image.Image, icc_profile: bytes | None
) -> tuple[Image.Image, Image.Image | None]:
    """Split off any alpha channel and convert the colours to sRGB."""
    from PIL import ImageCms

    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    if alpha is not None:
        image = image.convert(image.mode[:-1])
    if icc_profile:
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
                ImageCms.createProfile("sRGB"),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError):
            pass  # damaged profile, or one made for another colour space: ignore it
        else:
            if converted is not None:
                image = converted
    return image.convert("RGB"), alpha


def _encode_jpeg(image: Image.Image, max_bytes: int) -> bytes:
    """Save as a baseline JPEG, lowering the quality until it fits in max_bytes."""
    for quality in _QUALITIES:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=False)
        if buffer.tell() <= max_bytes:
            return buffer.getvalue()
    raise ValueError(
        f"the image is still larger than {max_bytes} bytes at JPEG quality {_QUALITIES[-1]}"
    )


def _jpeg_is_complete(file: io.BufferedReader) -> bool:
    """Whether an end-of-image marker follows the JPEG's picture data."""
    with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        position = 2  # after the start-of-image marker
        while position + 4 <= len(data):
            if data[position] != 0xFF:
                return False
            marker = data[position + 1]
            if marker == 0xFF:  # fill byte before a marker
                position += 1
                continue
            length = int.from_bytes(data[position + 2 : position + 4], "big")
            if marker == 0xDA:  # start of scan: picture data follows
                # Entropy-coded data never holds 0xFFD9, so the last one is the real end;
                # searching from the back finds it at once in a complete file.
                return data.rfind(b"\xff\xd9", position + 2 + length) != -1
            position += 2 + length
        return False
