"""Instagram-ready copies and header checks: every output is opened again with Pillow."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageDraw

from publisher.render.images import (
    IG_MAX_BYTES,
    IG_MAX_RATIO,
    IG_MIN_RATIO,
    IG_WIDTH,
    ImageInfo,
    ImageUnusable,
    _encode_jpeg,
    inspect_image,
    instagram_image,
    site_name,
    web_image,
    web_size,
)

WHITE = (255, 255, 255)
SAGE = (163, 177, 138)
RED = (220, 30, 30)
BLUE = (30, 60, 200)
GREEN = (30, 160, 60)
GREY = (128, 128, 128)


def encode(image: Image.Image, image_format: str = "PNG", **params: object) -> bytes:
    """The image as a file of the given format would hold it."""
    buffer = io.BytesIO()
    if image_format == "JPEG":
        params.setdefault("quality", 95)
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def assert_instagram_ready(data: bytes) -> Image.Image:
    """Check everything Meta checks, and return the decoded output for further checks."""
    assert len(data) < IG_MAX_BYTES
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"  # Pillow reports extended JPEG as "MPO"
    assert not any(payload.startswith(b"MPF\0") for _, payload in image.applist)
    assert image.mode == "RGB"
    assert image.width == IG_WIDTH
    # Whole pixels: the height may be a pixel off the exact ratio, no more.
    assert IG_WIDTH / IG_MAX_RATIO - 1 <= image.height <= IG_WIDTH / IG_MIN_RATIO + 1
    assert "exif" not in image.info
    assert "progressive" not in image.info and "progression" not in image.info
    image.load()
    return image


def colour_at(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    """The colour at a point given as fractions of the width and height."""
    return image.getpixel((min(int(x * image.width), image.width - 1), int(y * image.height)))


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 14) -> bool:
    """Whether two colours match within JPEG's rounding."""
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize("fit", ["pad", "crop"])
@pytest.mark.parametrize("background", ["#ffffff", "#a3b18a"])
def test_png_transparency_becomes_the_background_not_black(fit: str, background: str) -> None:
    image = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((400, 0, 799, 399), fill=(*BLUE, 255))
    draw.rectangle((400, 400, 799, 799), fill=(255, 0, 0, 128))
    out = assert_instagram_ready(instagram_image(encode(image), fit=fit, background=background))
    fill = WHITE if background == "#ffffff" else SAGE
    assert near(colour_at(out, 0.25, 0.5), fill)
    assert near(colour_at(out, 0.75, 0.25), BLUE)
    # Half-transparent red is blended, not dropped or made opaque.
    half_red = ((255 + fill[0]) // 2, fill[1] // 2, fill[2] // 2)
    assert near(colour_at(out, 0.75, 0.75), half_red)


def test_palette_transparency_becomes_the_background() -> None:
    image = Image.new("P", (300, 300), 0)
    image.putpalette([0, 0, 0, *RED])
    ImageDraw.Draw(image).rectangle((150, 0, 299, 299), fill=1)
    out = assert_instagram_ready(instagram_image(encode(image, "GIF", transparency=0)))
    assert near(colour_at(out, 0.25, 0.5), WHITE)
    assert near(colour_at(out, 0.75, 0.5), RED)


def test_cmyk_jpeg_keeps_its_colours() -> None:
    image = Image.new("CMYK", (600, 600), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, 299, 599), fill=(0, 255, 255, 0))
    out = assert_instagram_ready(instagram_image(encode(image, "JPEG")))
    red, green, blue = colour_at(out, 0.25, 0.5)
    assert red > 200 and green < 60 and blue < 60
    assert near(colour_at(out, 0.75, 0.5), WHITE)


def swapped_red_blue_profile() -> bytes:
    """An sRGB profile whose red and blue primaries trade places."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    entries = {}
    for index in range(int.from_bytes(profile[128:132], "big")):
        start = 132 + 12 * index
        entries[bytes(profile[start : start + 4])] = start
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    profile[84:100] = bytes(16)  # the profile id is a checksum; zero means "not computed"
    return bytes(profile)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_embedded_icc_profile_is_converted_to_srgb(image_format: str) -> None:
    image = Image.new("RGB", (400, 400), (255, 0, 0))
    data = encode(image, image_format, icc_profile=swapped_red_blue_profile())
    red, green, blue = colour_at(assert_instagram_ready(instagram_image(data)), 0.5, 0.5)
    assert blue > 180 and red < 80 and green < 80


def test_broken_icc_profile_is_ignored() -> None:
    data = encode(Image.new("RGB", (400, 400), RED), icc_profile=b"not a profile")
    assert near(colour_at(assert_instagram_ready(instagram_image(data)), 0.5, 0.5), RED)


def banded(size: tuple[int, int], bands: str) -> Image.Image:
    """Grey, a red square in the middle, and green bands at two opposite edges."""
    width, height = size
    image = Image.new("RGB", size, GREY)
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 2 - 100, height // 2 - 100, width // 2 + 100, height // 2 + 100), RED)
    if bands == "top and bottom":
        draw.rectangle((0, 0, width, 99), GREEN)
        draw.rectangle((0, height - 100, width, height), GREEN)
    else:
        draw.rectangle((0, 0, 199, height), GREEN)
        draw.rectangle((width - 200, 0, width, height), GREEN)
    return image


def test_tall_image_crop_keeps_the_centre() -> None:
    data = encode(banded((900, 1600), "top and bottom"))
    out = assert_instagram_ready(instagram_image(data, fit="crop"))
    assert out.size == (1080, 1350)
    assert near(colour_at(out, 0.5, 0.5), RED)
    assert near(colour_at(out, 0.5, 0.0), GREY)  # the bands were cut off
    assert near(colour_at(out, 0.0, 0.5), GREY)  # and nothing was padded


def test_tall_image_pad_keeps_everything() -> None:
    data = encode(banded((900, 1600), "top and bottom"))
    out = assert_instagram_ready(instagram_image(data, fit="pad"))
    assert out.size == (1080, 1350)
    assert near(colour_at(out, 0.5, 0.5), RED)
    assert near(colour_at(out, 0.5, 0.01), GREEN)
    assert near(colour_at(out, 0.5, 0.99), GREEN)
    assert near(colour_at(out, 0.02, 0.5), WHITE)
    assert near(colour_at(out, 0.98, 0.5), WHITE)


def test_wide_image_pad_keeps_everything() -> None:
    data = encode(banded((3000, 1000), "left and right"))
    out = assert_instagram_ready(instagram_image(data, fit="pad"))
    assert out.size == (1080, 566)
    assert near(colour_at(out, 0.5, 0.5), RED)
    assert near(colour_at(out, 0.01, 0.5), GREEN)
    assert near(colour_at(out, 0.99, 0.5), GREEN)
    assert near(colour_at(out, 0.5, 0.02), WHITE)
    assert near(colour_at(out, 0.5, 0.98), WHITE)


def test_wide_image_crop_keeps_the_centre() -> None:
    data = encode(banded((3000, 1000), "left and right"))
    out = assert_instagram_ready(instagram_image(data, fit="crop"))
    assert out.size == (1080, 566)
    assert near(colour_at(out, 0.5, 0.5), RED)
    assert near(colour_at(out, 0.01, 0.5), GREY)
    assert near(colour_at(out, 0.5, 0.02), GREY)


@pytest.fixture(scope="module")
def large_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6000x4000 camera-sized JPEG: a gradient scene with colour blotches and grain."""
    size = (6000, 4000)
    rng = random.Random(6000)
    blotches = Image.frombytes("RGB", (1500, 1000), rng.randbytes(1500 * 1000 * 3))
    grain = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    scene = Image.linear_gradient("L").resize(size).convert("RGB")
    blotchy = Image.blend(blotches.resize(size, Image.Resampling.BICUBIC), scene, 0.5)
    path = tmp_path_factory.mktemp("photo") / "large.jpg"
    Image.blend(blotchy, grain, 0.15).save(path, quality=95)
    return path


@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_large_photo(large_photo: Path, fit: str) -> None:
    out = assert_instagram_ready(instagram_image(large_photo.read_bytes(), fit=fit))
    assert out.size == (1080, 720)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's VmHWM")
def test_large_photo_is_not_decoded_at_full_size(large_photo: Path) -> None:
    # Decoded whole, this photo takes 96 MB (Pillow keeps RGB in four bytes a pixel).
    # VmHWM is the peak resident size of this process image; ru_maxrss would carry
    # the parent's peak across exec.
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from publisher.render.images import instagram_image

        def peak_kilobytes():
            status = Path("/proc/self/status").read_text()
            return int(status.split("VmHWM:")[1].split()[0])

        data = Path(sys.argv[1]).read_bytes()
        before = peak_kilobytes()
        instagram_image(data)
        print(peak_kilobytes() - before)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(large_photo)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert int(result.stdout) < 48 * 1024


def test_tiny_image_is_scaled_up() -> None:
    image = Image.new("RGB", (100, 100), RED)
    ImageDraw.Draw(image).rectangle((50, 0, 99, 99), fill=BLUE)
    out = assert_instagram_ready(instagram_image(encode(image)))
    assert out.size == (1080, 1080)
    assert near(colour_at(out, 0.25, 0.5), RED)
    assert near(colour_at(out, 0.75, 0.5), BLUE)


def exif_rotated_jpeg() -> bytes:
    """A 400x300 landscape JPEG, red at its top left, tagged to display turned a quarter right."""
    image = Image.new("RGB", (400, 300), GREY)
    ImageDraw.Draw(image).rectangle((0, 0, 199, 149), fill=RED)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    return encode(image, "JPEG", exif=exif.tobytes())


@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_exif_orientation_is_applied(fit: str) -> None:
    out = assert_instagram_ready(instagram_image(exif_rotated_jpeg(), fit=fit))
    assert out.size == (1080, 1350)  # portrait, though the pixels are stored landscape
    assert near(colour_at(out, 0.75, 0.25), RED)  # the top left turned to the top right
    assert near(colour_at(out, 0.25, 0.25), GREY)
    assert near(colour_at(out, 0.75, 0.75), GREY)


def test_mpo_becomes_plain_jpeg() -> None:
    first, second = Image.new("RGB", (600, 600), RED), Image.new("RGB", (600, 600), BLUE)
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert near(colour_at(assert_instagram_ready(instagram_image(data)), 0.5, 0.5), RED)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("I;16", (200, 200), 32768), (128, 128, 128)),
        (Image.new("LA", (200, 200), (0, 0)), WHITE),
        (Image.new("1", (200, 200), 1), WHITE),
        (Image.new("LAB", (200, 200), (255, 128, 128)), WHITE),
    ],
    ids=["16-bit grey", "grey with alpha", "bilevel", "CIELAB"],
)
def test_other_modes(image: Image.Image, expected: tuple[int, int, int]) -> None:
    data = encode(image, "TIFF" if image.mode == "LAB" else "PNG")
    assert near(colour_at(assert_instagram_ready(instagram_image(data)), 0.5, 0.5), expected)


FORMATS_BY_MODE = {
    "RGB": ("PNG", "JPEG", "WEBP"),
    "RGBA": ("PNG", "WEBP"),
    "L": ("PNG", "JPEG"),
    "P": ("PNG", "GIF"),
    "CMYK": ("JPEG", "TIFF"),
}


@st.composite
def source_images(draw: st.DrawFn) -> tuple[bytes, tuple[int, int]]:
    """An encoded image of random size, mode and format, and its size."""
    mode = draw(st.sampled_from(sorted(FORMATS_BY_MODE)))
    image_format = draw(st.sampled_from(FORMATS_BY_MODE[mode]))
    size = (draw(st.integers(1, 3000)), draw(st.integers(1, 3000)))
    bands = len(mode) if mode != "P" else 1
    colours = st.tuples(*[st.integers(0, 255)] * bands)
    image = Image.new(mode, size, draw(colours) if bands > 1 else draw(colours)[0])
    corner = (draw(st.integers(0, size[0] - 1)), draw(st.integers(0, size[1] - 1)))
    fill = draw(colours)
    ImageDraw.Draw(image).rectangle((0, 0, *corner), fill=fill if bands > 1 else fill[0])
    params = {}
    if mode == "P" and draw(st.booleans()):
        params["transparency"] = draw(st.integers(0, 255))
    return encode(image, image_format, **params), size


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=source_images(), fit=st.sampled_from(["pad", "crop"]))
def test_any_image_becomes_instagram_ready(source: tuple[bytes, tuple[int, int]], fit: str) -> None:
    data, (width, height) = source
    out = assert_instagram_ready(instagram_image(data, fit=fit))
    clamped = min(max(width / height, IG_MIN_RATIO), IG_MAX_RATIO)
    assert abs(out.height - IG_WIDTH / clamped) <= 1


def test_quality_drops_until_the_jpeg_fits() -> None:
    noise = Image.frombytes("RGB", (600, 600), random.Random(1).randbytes(600 * 600 * 3))
    best = _encode_jpeg(noise, max_bytes=IG_MAX_BYTES)
    smaller = _encode_jpeg(noise, max_bytes=len(best) - 1)
    assert len(smaller) < len(best)
    assert Image.open(io.BytesIO(smaller)).size == (600, 600)
    with pytest.raises(ValueError, match="still larger than 1000 bytes"):
        _encode_jpeg(noise, max_bytes=1000)


def test_unknown_fit_names_the_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"fit must be one of 'pad', 'crop', not 'stretch'"):
        instagram_image(encode(Image.new("RGB", (10, 10))), fit="stretch")


def test_unknown_background_is_refused() -> None:
    with pytest.raises(ValueError, match="'sage-ish' is not a colour"):
        instagram_image(encode(Image.new("RGB", (10, 10))), background="sage-ish")


@pytest.mark.parametrize(
    "data",
    [b"Kneaded Tranquility, Pittsburgh\n", encode(Image.new("RGB", (300, 300)), "JPEG")[:400]],
    ids=["text", "truncated JPEG"],
)
def test_instagram_image_refuses_data_that_is_not_an_image(data: bytes) -> None:
    with pytest.raises(ValueError, match="not an image Pillow can read"):
        instagram_image(data)


@pytest.mark.parametrize(
    ("image_format", "size"),
    [("JPEG", (640, 480)), ("PNG", (300, 700)), ("WEBP", (1200, 628)), ("GIF", (64, 32))],
)
def test_inspect_image_reads_size_and_format(
    tmp_path: Path, image_format: str, size: tuple[int, int]
) -> None:
    path = tmp_path / f"picture.{image_format.lower()}"
    path.write_bytes(encode(Image.new("RGB", size, SAGE), image_format))
    assert inspect_image(path) == ImageInfo(width=size[0], height=size[1], format=image_format)


def test_inspect_image_reports_the_displayed_size(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    path.write_bytes(exif_rotated_jpeg())
    assert inspect_image(path) == ImageInfo(width=300, height=400, format="JPEG")


def test_inspect_image_accepts_data_after_the_jpeg_end(tmp_path: Path) -> None:
    # Some phones append their own records after the end-of-image marker.
    path = tmp_path / "trailer.jpg"
    path.write_bytes(encode(Image.new("RGB", (64, 64), SAGE), "JPEG") + b"SEFH trailer\0\1")
    assert inspect_image(path).format == "JPEG"


def test_inspect_image_refuses_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "hero.jpg"
    path.write_text("# A girl leaning over experiencing back pain\n")
    with pytest.raises(ImageUnusable) as raised:
        inspect_image(path)
    assert str(raised.value) == (
        "is not an image file (JPEG, PNG, WebP or GIF): export it again as a JPEG"
    )


def test_inspect_image_calls_an_empty_file_empty(tmp_path: Path) -> None:
    path = tmp_path / "hero.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageUnusable, match=r"^is an empty file \(0 bytes\): copy the photo"):
        inspect_image(path)


@pytest.mark.parametrize(
    ("image_format", "name"), [("TIFF", "a TIFF"), ("BMP", "a BMP"), ("ICO", "an ICO")]
)
def test_inspect_image_refuses_what_browsers_do_not_show(
    tmp_path: Path, image_format: str, name: str
) -> None:
    path = tmp_path / "photo.jpg"  # the name does not matter: the data does
    path.write_bytes(encode(Image.new("RGB", (64, 48), SAGE), image_format))
    with pytest.raises(ImageUnusable) as raised:
        inspect_image(path)
    assert str(raised.value) == (
        f"is {name} image, which web browsers do not show: export it as a JPEG "
        "(or PNG, WebP or GIF)"
    )


def noisy(size: tuple[int, int]) -> Image.Image:
    """An image whose encoded data is mostly picture, not header."""
    return Image.frombytes("RGB", size, random.Random(2).randbytes(size[0] * size[1] * 3))


@pytest.mark.parametrize(
    ("image_format", "keep"),
    [("PNG", 0.5), ("JPEG", 0.5), ("JPEG", 0.9), ("PNG", 0.002), ("JPEG", 0.002)],
    ids=["PNG half", "JPEG half", "JPEG 90%", "PNG header", "JPEG header"],
)
def test_inspect_image_refuses_a_truncated_file(
    tmp_path: Path, image_format: str, keep: float
) -> None:
    data = encode(noisy((400, 300)), image_format)
    path = tmp_path / f"cut.{image_format.lower()}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImageUnusable) as raised:
        inspect_image(path)
    assert str(raised.value).startswith(
        "is cut short (the file ends before the end of the picture): copy it again"
    )


def test_inspect_image_lets_a_missing_file_say_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        inspect_image(tmp_path / "missing.jpg")


def test_a_huge_photo_is_called_huge_not_broken_and_a_big_one_passes_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    from publisher.render.images import ImageTooLarge

    # Pillow's limit scaled down: warns above 1,000 pixels, refuses above 2,000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    big = tmp_path / "big.jpg"
    big.write_bytes(encode(Image.new("RGB", (40, 40), "#789"), "JPEG"))  # 1,600 pixels
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(encode(Image.new("RGB", (100, 100), "#789"), "JPEG"))  # 10,000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning would fail here
        assert inspect_image(big) == ImageInfo(width=40, height=40, format="JPEG")
        assert instagram_image(big.read_bytes())[:2] == b"\xff\xd8"
    with pytest.raises(ImageTooLarge) as caught:
        inspect_image(huge)
    assert str(caught.value).startswith("has 0 million pixels, more than publisher opens")
    assert "export it smaller" in str(caught.value)


@pytest.mark.parametrize(
    ("size", "image_format", "expected"),
    [
        ((2000, 1500), "JPEG", None),  # small enough: the file goes as it is
        ((4032, 3024), "JPEG", (2000, 1500)),
        ((3024, 4032), "PNG", (1500, 2000)),
        ((6000, 800), "WEBP", (2000, 267)),
        ((4000, 4000), "GIF", None),  # it may move: never redrawn
    ],
)
def test_web_size_brings_the_long_side_to_2000_px(size, image_format, expected) -> None:
    assert web_size(ImageInfo(size[0], size[1], image_format)) == expected


def test_a_large_picture_that_moves_goes_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "moving.webp"
    frames = [Image.new("RGB", (2400, 1200), colour) for colour in (SAGE, RED)]
    frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:])
    info = inspect_image(path)
    assert info.animated and web_size(info) is None


def test_the_web_copy_of_a_phone_photo_is_upright_small_and_keeps_no_camera_data() -> None:
    image = Image.new("RGB", (4032, 3024), GREY)
    ImageDraw.Draw(image).rectangle((0, 0, 2015, 1511), fill=RED)  # red at the top left
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed turned a quarter right: portrait
    exif[0x8825] = {1: "N", 2: (40.0, 26.0, 46.0)}  # where it was taken
    data = encode(image, "JPEG", exif=exif.tobytes())
    size = web_size(ImageInfo(3024, 4032, "JPEG"))
    out = Image.open(io.BytesIO(web_image(data, size)))
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (1500, 2000))
    assert dict(out.getexif()) == {}
    # turned a quarter right, the stored top left is the displayed top right
    assert out.getpixel((1400, 100))[0] > 200 and out.getpixel((100, 100))[0] < 200
    assert len(web_image(data, size)) < len(data)


def test_the_web_copy_keeps_the_format_and_transparency() -> None:
    data = encode(Image.new("RGBA", (3000, 2400), (20, 60, 200, 100)), "PNG")
    out = Image.open(io.BytesIO(web_image(data, (2000, 1600))))
    assert (out.format, out.mode, out.size) == ("PNG", "RGBA", (2000, 1600))
    pixel = out.getpixel((5, 5))  # resizing works on premultiplied colour: a step or two off
    assert pixel[3] == 100 and all(
        abs(a - b) <= 3 for a, b in zip(pixel[:3], (20, 60, 200), strict=True)
    )


def test_a_large_camera_mpo_gets_a_web_copy_as_a_jpeg(tmp_path: Path) -> None:
    """A camera's MPO holds a second picture: Pillow calls it animated, but it does not move."""
    path = tmp_path / "camera.jpg"
    first, second = Image.new("RGB", (3000, 2000), SAGE), Image.new("RGB", (640, 427), RED)
    first.save(path, "MPO", save_all=True, append_images=[second])
    info = inspect_image(path)
    assert (info.format, info.animated, web_size(info)) == ("MPO", False, (2000, 1333))
    out = Image.open(io.BytesIO(web_image(path.read_bytes(), (2000, 1333))))
    assert (out.format, out.size) == ("JPEG", (2000, 1333))


PHOTOS = Path(__file__).parent / "photos"  # made by photos/make_heic.py


def test_an_iphone_heic_photo_is_read_upright_and_goes_to_the_site_as_a_jpeg(
    tmp_path: Path,
) -> None:
    """An iPhone's photo taken upright is stored on its side (HEIC, with a rotation): it is
    read at its displayed size, and the site gets a JPEG of it the right way up."""
    path = tmp_path / "IMG_4021.HEIC"
    path.write_bytes((PHOTOS / "upright.heic").read_bytes())
    info = inspect_image(path)
    assert info == ImageInfo(width=1200, height=1600, format="HEIF")
    assert site_name(path.name, info) == "IMG_4021.jpg"
    assert site_name("shoulders", info) == "shoulders.jpg"
    size = web_size(info)
    assert size == (1200, 1600)  # a JPEG copy even when it is not large
    out = Image.open(io.BytesIO(web_image(path.read_bytes(), size)))
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (1200, 1600))
    assert near(colour_at(out, 0.5, 0.1), (200, 30, 30)), "the top is red"
    assert near(colour_at(out, 0.5, 0.9), (30, 30, 200)), "the bottom is blue"
    small = Image.open(io.BytesIO(web_image(path.read_bytes(), (800, 1067))))
    assert (small.format, small.size) == ("JPEG", (800, 1067))


def test_a_large_heic_photo_is_brought_to_2000_px_and_keeps_its_own_name_for_others() -> None:
    info = inspect_image(PHOTOS / "landscape.heic")
    assert info == ImageInfo(width=2400, height=1600, format="HEIF")
    assert web_size(info) == (2000, 1333)
    data = (PHOTOS / "landscape.heic").read_bytes()
    out = Image.open(io.BytesIO(web_image(data, (2000, 1333))))
    assert near(colour_at(out, 0.1, 0.5), (200, 30, 30)) and near(
        colour_at(out, 0.9, 0.5), (30, 30, 200)
    )
    assert site_name("IMG 2041.JPG", ImageInfo(800, 600, "JPEG")) == "IMG 2041.JPG"


@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_an_iphone_heic_photo_becomes_an_upright_instagram_jpeg(fit: str) -> None:
    out = assert_instagram_ready(instagram_image((PHOTOS / "upright.heic").read_bytes(), fit=fit))
    assert out.size == (1080, 1350)  # 3:4 is taller than Instagram's 4:5
    assert near(colour_at(out, 0.5, 0.15), (200, 30, 30))
    assert near(colour_at(out, 0.5, 0.85), (30, 30, 200))


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_a_heic_photo_cut_short_is_called_cut_short(tmp_path: Path, keep: float) -> None:
    data = (PHOTOS / "upright.heic").read_bytes()
    path = tmp_path / "IMG_4021.HEIC"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImageUnusable, match=r"^is cut short \(the file ends before"):
        inspect_image(path)


def test_an_avif_goes_to_the_site_and_instagram_as_a_jpeg(tmp_path: Path) -> None:
    """Browsers before 2024 and link previews may not show an AVIF: the site gets a JPEG."""
    path = tmp_path / "stock.avif"
    picture = Image.new("RGB", (640, 480), RED)
    ImageDraw.Draw(picture).rectangle((320, 0, 639, 479), fill=BLUE)
    path.write_bytes(encode(picture, "AVIF", quality=90))
    info = inspect_image(path)
    assert (info, site_name(path.name, info)) == (ImageInfo(640, 480, "AVIF"), "stock.jpg")
    out = Image.open(io.BytesIO(web_image(path.read_bytes(), web_size(info))))
    assert (out.format, out.size) == ("JPEG", (640, 480))
    assert near(colour_at(out, 0.1, 0.5), RED) and near(colour_at(out, 0.9, 0.5), BLUE)
    assert_instagram_ready(instagram_image(path.read_bytes()))


@pytest.mark.parametrize(
    ("name", "head", "said"),
    [
        ("clip.mp4", b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41", "is a video: the website"),
        ("IMG_4022.MOV", b"\0\0\0\x14ftypqt  \0\0\0\0qt  \0\0\0\x08wide", "is a video: the"),
        ("clip.webm", b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01", "is a video: the"),
        ("flyer.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "is a PDF: export its page"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg">', "is an SVG drawing, which"),
        ("logo2.svg", b'<?xml version="1.0"?>\n<svg>', "is an SVG drawing, which"),
    ],
)
def test_a_video_or_a_pdf_named_as_the_photo_is_called_what_it_is(
    tmp_path: Path, name: str, head: bytes, said: str
) -> None:
    """Staff name a phone's video or the clinic's PDF flyer; 'export it again as a JPEG'
    would make no sense to them."""
    path = tmp_path / name
    path.write_bytes(head + bytes(range(256)) * 8)
    with pytest.raises(ImageUnusable) as raised:
        inspect_image(path)
    assert str(raised.value).startswith(said)


def located_jpeg(orientation: int | None = None, size: tuple[int, int] = (400, 300)) -> bytes:
    """A phone's JPEG that says where it was taken (EXIF GPS, and XMP), with a colour profile."""
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (40.0, 26.0, 46.0), 3: "W", 4: (79.0, 58.0, 56.0)}
    picture = Image.new("RGB", size, SAGE)
    ImageDraw.Draw(picture).rectangle((0, 0, size[0] // 2, size[1] // 2), fill=RED)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>40,26N</exif:GPSLatitude></x:xmpmeta>'
    return encode(picture, "JPEG", exif=exif.tobytes(), icc_profile=profile, xmp=xmp)


def _scan(data: bytes) -> bytes:
    """A JPEG's picture data: from its start-of-scan marker on."""
    return data[data.index(b"\xff\xda") :]


@pytest.mark.parametrize("orientation", [None, 1, 6])
def test_a_photo_loses_where_it_was_taken_and_keeps_its_picture(
    tmp_path: Path, orientation: int | None
) -> None:
    """A phone photo small enough to go to the site as it is still told where it was taken
    (a client's home, say): the site's file keeps the picture, its profile and which way up
    it is shown, bit for bit, and nothing else of the camera's data."""
    from publisher.render.images import without_location

    data = located_jpeg(orientation)
    assert b"xmpmeta" in data and b"Apple" in data
    path = tmp_path / "IMG_4021.jpg"
    path.write_bytes(data)
    assert inspect_image(path).located
    out = without_location(data)
    assert _scan(out) == _scan(data)
    assert b"GPS" not in out and b"Apple" not in out and b"xmpmeta" not in out
    image = Image.open(io.BytesIO(out))
    assert image.info.get("icc_profile") == Image.open(io.BytesIO(data)).info["icc_profile"]
    expected = {} if orientation in (None, 1) else {0x0112: orientation}
    assert dict(image.getexif()) == expected
    path.write_bytes(out)
    shown = inspect_image(path)
    assert not shown.located and (shown.width, shown.height) == (
        (300, 400) if orientation == 6 else (400, 300)
    )
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(encode(Image.new("RGB", (64, 48), SAGE), "JPEG"))
    assert not inspect_image(plain).located


def test_a_damaged_exif_segment_is_dropped_and_the_good_ones_orientation_kept() -> None:
    import warnings

    from publisher.render.images import without_location

    data = located_jpeg(6)
    damaged = b"\xff\xe1\x00\x0cExif\x00\x00XX\x00\x2a"  # not even a TIFF header
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow says the segment is corrupt
        out = without_location(data[:2] + damaged + data[2:])
    assert dict(Image.open(io.BytesIO(out)).getexif()) == {0x0112: 6}
    assert damaged not in out and _scan(out) == _scan(data)
