"""Images keep their pixels and lose their metadata (GPS position, device, comments)."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from media_store import MediaRejected
from media_store.images import clean_image
from tests.media_store.conftest import jpeg_with_exif, png, webp


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_jpeg_loses_exif_gps_and_comment_but_stays_upright():
    original = jpeg_with_exif(orientation=6)  # stored sideways, "rotate 90° clockwise to view"
    before = _open(original)
    assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the sample does carry a position

    cleaned = clean_image(original, "image/jpeg", max_pixels=1_000_000)
    after = _open(cleaned)
    assert after.format == "JPEG"
    assert dict(after.getexif()) == {}
    assert not {"exif", "comment", "xmp"} & set(after.info)
    for marker in (b"Exif", b"PhoneMakerSerial123", b"<script"):
        assert marker not in cleaned
    # orientation applied to the pixels: 40x20 red|blue becomes 20x40 red over blue
    assert after.size == (20, 40)
    red, blue = after.getpixel((10, 5)), after.getpixel((10, 35))
    assert red[0] > 200 and red[2] < 60
    assert blue[2] > 200 and blue[0] < 60


def test_jpeg_keeps_the_camera_quality_tables():
    original = jpeg_with_exif()
    cleaned = clean_image(original, "image/jpeg", max_pixels=1_000_000)
    assert _open(cleaned).quantization == _open(original).quantization


def test_png_loses_text_and_exif_keeps_transparency():
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((5, 5), 1)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "vivo en Calle Mayor 1")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMakerSerial123"
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, exif=exif, transparency=0)

    cleaned = clean_image(out.getvalue(), "image/png", max_pixels=1_000_000)
    after = _open(cleaned)
    assert b"Calle Mayor" not in cleaned and b"PhoneMaker" not in cleaned
    assert after.info.get("transparency") == 0
    assert after.getpixel((5, 5)) == 1 and after.getpixel((0, 0)) == 0


def test_icc_profile_is_kept():
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "JPEG", icc_profile=profile)
    cleaned = clean_image(out.getvalue(), "image/jpeg", max_pixels=1_000_000)
    assert _open(cleaned).info.get("icc_profile") == profile


def test_webp_round_trips_with_alpha():
    after = _open(clean_image(webp(), "image/webp", max_pixels=1_000_000))
    assert after.format == "WEBP" and after.mode == "RGBA" and after.size == (16, 16)


def test_pixel_limit():
    data = png(size=(300, 300))
    assert clean_image(data, "image/png", max_pixels=90_000)
    with pytest.raises(MediaRejected) as caught:
        clean_image(data, "image/png", max_pixels=89_999)
    assert caught.value.reason == "too_large" and caught.value.limit == 89_999


def test_content_of_another_format_is_unreadable():
    with pytest.raises(MediaRejected) as caught:
        clean_image(png(), "image/jpeg", max_pixels=1_000_000)
    assert caught.value.reason == "unreadable"
