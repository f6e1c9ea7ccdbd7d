"""Decode and re-encode images so that only pixels are kept.

Shoppers' phone photos carry EXIF (GPS position of their home, device serial numbers), XMP and
comments; a file can also hide HTML or a ZIP after the image data (a "polyglot"). Re-encoding with
Pillow keeps the pixels, the colour profile and, for PNG, the transparency, and drops everything
else. The EXIF orientation is applied to the pixels first, so photos still show upright.

JPEGs are re-encoded with the source's own quantization tables and chroma subsampling, so the
quality stays what the camera chose. Animated WebP keeps its first frame only.
"""

from __future__ import annotations

import io

from media_store.model import MediaRejected

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def clean_image(data: bytes, mime: str, *, max_pixels: int) -> bytes:
    """The image re-encoded in its own format, without metadata; ``MediaRejected`` if it does not
    decode as ``mime`` or has more than ``max_pixels`` pixels."""
    from PIL import Image, ImageOps, JpegImagePlugin

    fmt = _FORMATS[mime]
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as src:
            width, height = src.size
            if width * height > max_pixels:
                raise MediaRejected(
                    "too_large",
                    f"the image has {width}x{height} pixels; at most {max_pixels:,} are accepted",
                    detected_type=mime,
                    limit=max_pixels,
                )
            src.load()  # full decode: a truncated or forged image fails here
            try:
                out = ImageOps.exif_transpose(src)
            except Exception:  # broken EXIF: keep the pixels as they are rather than refuse
                out = src.copy()
            keep = {k: src.info[k] for k in ("transparency",) if k in src.info}
            icc = src.info.get("icc_profile")
            out.info = keep  # drop exif, xmp, comment, text chunks, dpi ...
            options: dict[str, object] = {"format": fmt}
            if icc:
                options["icc_profile"] = icc
            if fmt == "JPEG":
                options["qtables"] = src.quantization
                sampling = JpegImagePlugin.get_sampling(src)
                if sampling != -1:
                    options["subsampling"] = sampling
            elif fmt == "WEBP":
                options["quality"] = 90
            buffer = io.BytesIO()
            out.save(buffer, **options)
    except MediaRejected:
        raise
    except Image.DecompressionBombError:
        raise MediaRejected(
            "too_large", f"the image has too many pixels; at most {max_pixels:,} are accepted",
            detected_type=mime, limit=max_pixels,
        ) from None
    except Exception:  # Pillow raises OSError, SyntaxError, ValueError, struct.error ...
        raise MediaRejected(
            "unreadable", f"the content starts like {mime} but does not decode as one",
            detected_type=mime,
        ) from None
    return buffer.getvalue()
