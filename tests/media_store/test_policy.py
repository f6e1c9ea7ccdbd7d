"""What is accepted from whom: sniffing, allow-lists, size limits, declared-type checks."""

from __future__ import annotations

import io
import zipfile

import pytest

from media_store import MediaLimits, MediaRejected
from media_store.policy import MB, TYPES, claimed_kind, prepare
from tests.media_store.conftest import HTML, SVG, docx, fixture, jpeg_with_exif, pdf, png, webp


def _prepare(data: bytes, *, source: str = "whatsapp", declared: str | None = None,
             filename: str | None = None, limits: MediaLimits | None = None):
    return prepare(data, declared_type=declared, filename=filename, conversation_id="c-1",
                   source=source, limits=limits or MediaLimits())


def _rejected(data: bytes, **kwargs) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        _prepare(data, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("data", "declared", "mime", "kind"),
    [
        (jpeg_with_exif(), "image/jpeg", "image/jpeg", "image"),
        (png(), "image/png", "image/png", "image"),
        (webp(), "image/webp", "image/webp", "image"),
        (pdf(), "application/pdf", "application/pdf", "document"),
        (docx(), None, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "document"),
        (fixture("voice_note.ogg"), "audio/ogg; codecs=opus", "audio/ogg", "audio"),
        (fixture("tone.mp3"), "audio/mpeg", "audio/mpeg", "audio"),
        (fixture("clip.mp4"), "video/mp4", "video/mp4", "video"),
    ],
    ids=["jpeg", "png", "webp", "pdf", "docx", "ogg-opus", "mp3", "mp4"],
)
def test_meta_sources_accept_every_allowed_kind(data, declared, mime, kind):
    for source in ("whatsapp", "messenger"):
        prepared = _prepare(data, source=source, declared=declared)
        assert (prepared.mime_type, prepared.kind) == (mime, kind)
        assert prepared.sha256 and len(prepared.sha256) == 64


def test_widget_accepts_images_only():
    assert _prepare(png(), source="widget").kind == "image"
    for other in (pdf(), fixture("voice_note.ogg"), fixture("clip.mp4"), docx()):
        error = _rejected(other, source="widget")
        assert error.reason == "type_not_allowed"
        assert "accepted here: image" in str(error)


def test_agents_send_images_and_documents_but_not_audio():
    assert _prepare(pdf(), source="agent").kind == "document"
    assert _prepare(jpeg_with_exif(), source="agent").kind == "image"
    assert _rejected(fixture("tone.mp3"), source="agent").reason == "type_not_allowed"


def test_png_named_and_declared_jpeg_is_stored_as_png():
    prepared = _prepare(png(), source="widget", declared="image/jpeg", filename="foto.jpg")
    assert prepared.mime_type == "image/png"
    assert prepared.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert prepared.filename == "foto.jpg"


@pytest.mark.parametrize("payload", [HTML, SVG, b"<svg onload=alert(1)>", b"GIF89a<script>"],
                         ids=["html", "svg", "bare-svg", "fake-gif"])
def test_markup_renamed_png_is_refused(payload):
    error = _rejected(payload, source="widget", declared="image/png", filename="foto.png")
    assert error.reason == "type_not_allowed"
    assert error.detected_type is None or error.detected_type not in TYPES


def test_html_first_polyglot_is_refused():
    error = _rejected(HTML + png(), source="widget", declared="image/png", filename="x.png")
    assert error.reason == "type_not_allowed"


def test_png_with_html_appended_is_stored_without_the_payload():
    """A PNG-first polyglot is a valid PNG; re-encoding keeps the pixels and drops the rest."""
    prepared = _prepare(png() + HTML, source="widget", declared="image/png")
    assert prepared.mime_type == "image/png"
    assert b"<script" not in prepared.data and b"html" not in prepared.data


def test_png_with_script_in_a_text_chunk_is_stored_without_it():
    prepared = _prepare(png(text="<script>alert(1)</script>"), source="widget")
    assert b"script" not in prepared.data


def test_png_header_with_garbage_is_unreadable():
    forged = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + HTML
    error = _rejected(forged, source="widget")
    assert error.reason == "unreadable"
    assert error.detected_type == "image/png"


def test_truncated_jpeg_is_unreadable():
    data = jpeg_with_exif(size=(200, 200))
    assert _rejected(data[: len(data) // 2], source="widget").reason == "unreadable"


def test_declared_kind_must_agree_with_content():
    error = _rejected(pdf(), source="whatsapp", declared="image/jpeg")
    assert error.reason == "type_mismatch"
    assert error.detected_type == "application/pdf"
    assert _rejected(png(), source="widget", declared="text/html").reason == "type_mismatch"


def test_generic_declared_types_claim_nothing():
    for declared in (None, "", "application/octet-stream", "binary/octet-stream"):
        assert _prepare(pdf(), declared=declared).mime_type == "application/pdf"


def test_audio_only_mp4_declared_audio_is_stored_as_audio():
    """Messenger voice clips come as MP4 files with audio only; the container sniffs as video."""
    prepared = _prepare(fixture("audio_only.mp4"), source="messenger", declared="audio/mp4")
    assert (prepared.mime_type, prepared.kind) == ("audio/mp4", "audio")
    # undeclared, the same bytes stay what the container says
    assert _prepare(fixture("audio_only.mp4"), source="messenger").kind == "video"


def test_empty_is_refused():
    assert _rejected(b"", source="widget").reason == "empty"


def test_oversize_is_refused_before_any_decoding():
    limits = MediaLimits(image=1 * MB)
    big = jpeg_with_exif() + b"\0" * MB
    error = _rejected(big, source="widget", limits=limits)
    assert error.reason == "too_large"
    assert error.limit == MB
    assert "1 MB" in str(error)


def test_each_kind_has_its_own_limit():
    limits = MediaLimits(image=10 * MB, document=2_000)
    data = pdf() + b"%" * 3_000
    error = _rejected(data, source="whatsapp", limits=limits)
    assert (error.reason, error.detected_type, error.limit) == (
        "too_large", "application/pdf", 2_000)
    assert _prepare(jpeg_with_exif(), source="whatsapp", limits=limits).kind == "image"


@pytest.mark.parametrize(("width", "height"), [(8_000, 6_000), (20_000, 20_000)])
def test_pixel_bomb_is_refused(width, height):
    """A small PNG claiming 48 or 400 megapixels is refused from its header, not decoded
    (the second is also past Pillow's own decompression-bomb guard)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    data = out.getvalue()
    assert len(data) < 100_000
    error = _rejected(data, source="widget")
    assert error.reason == "too_large"
    assert "40,000,000" in str(error)


def test_zip_is_not_a_document_and_fake_office_file_is_unreadable():
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("notes.txt", "hola")
    assert _rejected(plain.getvalue(), source="whatsapp").reason == "type_not_allowed"
    # the magic of a Word file in the first bytes, but no readable archive behind it
    forged = docx()[:120]
    assert _rejected(forged, source="whatsapp").reason in ("unreadable", "type_not_allowed")


def test_filename_is_cleaned_and_never_decides_anything():
    prepared = _prepare(pdf(), filename="../../etc/passwd\x00.pdf")
    assert prepared.filename == "passwd.pdf"
    assert _prepare(pdf(), filename="C:\\Users\\ana\\factura.pdf").filename == "factura.pdf"
    assert _prepare(pdf(), filename="a" * 300 + ".pdf").filename.endswith(".pdf")
    assert len(_prepare(pdf(), filename="a" * 300 + ".pdf").filename) == 120
    assert _prepare(pdf(), filename="..").filename is None


def test_messages_never_contain_the_file_name():
    error = _rejected(HTML, source="widget", filename="juan_perez_dni.png")
    assert "juan" not in str(error)


@pytest.mark.parametrize("bad", ["", "x" * 129, "a\nb", None])
def test_conversation_id_is_checked(bad):
    with pytest.raises(ValueError):
        prepare(png(), declared_type=None, filename=None, conversation_id=bad, source="widget",
                limits=MediaLimits())


def test_unknown_source_is_a_programming_error():
    with pytest.raises(ValueError, match="source must be one of"):
        _prepare(png(), source="email")


@pytest.mark.parametrize(
    ("declared", "kind"),
    [("image/jpg", "image"), ("IMAGE/PNG; q=1", "image"), ("audio/ogg; codecs=opus", "audio"),
     ("application/msword", "document"), ("application/octet-stream", None), (None, None),
     ("text/html", "text/html")],
)
def test_claimed_kind(declared, kind):
    assert claimed_kind(declared) == kind


def test_mangled_files_are_accepted_or_refused_never_crash():
    """500 seeded random mutations (bytes flipped, cut, inserted) of every sample: each one is
    either stored or refused with a reason; no parser error escapes."""
    import random

    samples = [jpeg_with_exif(), png(), webp(), pdf(), docx(), fixture("voice_note.ogg"),
               fixture("clip.mp4"), fixture("tone.mp3")]
    rng = random.Random(20261207)
    outcomes = set()
    for _ in range(500):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 8)):
            if len(data) < 2:
                break
            roll, at = rng.random(), rng.randrange(len(data))
            if roll < 0.6:
                data[at] = rng.randrange(256)
            elif roll < 0.8:
                del data[at:]
            else:
                data[at:at] = rng.randbytes(rng.randint(1, 40))
        try:
            outcomes.add(_prepare(bytes(data)).kind)
        except MediaRejected as error:
            outcomes.add(error.reason)
    assert {"image", "unreadable", "type_not_allowed"} <= outcomes
