"""Settings come from an injected environment mapping and refuse wrong values by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_store import MediaLimits, settings_from_env
from media_store.policy import MB


def test_defaults_put_media_under_the_data_dir():
    settings = settings_from_env({"ATIENDE_DATA_DIR": "/srv/atiende"})
    assert settings.backend == "local"
    assert settings.directory == Path("/srv/atiende/media")
    assert settings.limits == MediaLimits()
    assert settings.s3 is None
    assert settings_from_env({}).directory == Path("var/media")
    assert settings_from_env({"MEDIA_DIR": "/data/m"}).directory == Path("/data/m")


def test_limits_in_megabytes():
    limits = settings_from_env({"MEDIA_MAX_IMAGE_MB": "2.5", "MEDIA_MAX_VIDEO_MB": "64",
                                "MEDIA_MAX_IMAGE_PIXELS": "12_000_000"}).limits
    assert limits.image == int(2.5 * MB) and limits.video == 64 * MB
    assert limits.image_pixels == 12_000_000
    assert limits.document == MediaLimits().document


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MEDIA_BACKEND": "ftp"}, "MEDIA_BACKEND"),
        ({"MEDIA_BACKEND": "s3"}, "MEDIA_S3_BUCKET"),
        ({"MEDIA_BACKEND": "s3", "MEDIA_S3_BUCKET": "b", "MEDIA_S3_ACCESS_KEY_ID": "k"},
         "MEDIA_S3_SECRET_ACCESS_KEY"),
        ({"MEDIA_BACKEND": "s3", "MEDIA_S3_BUCKET": "b", "MEDIA_S3_ADDRESSING_STYLE": "odd"},
         "MEDIA_S3_ADDRESSING_STYLE"),
        ({"MEDIA_MAX_IMAGE_MB": "ten"}, "MEDIA_MAX_IMAGE_MB"),
        ({"MEDIA_MAX_AUDIO_MB": "0"}, "MEDIA_MAX_AUDIO_MB"),
        ({"MEDIA_MAX_IMAGE_PIXELS": "-1"}, "MEDIA_MAX_IMAGE_PIXELS"),
    ],
)
def test_wrong_values_are_refused_by_name(env, message):
    with pytest.raises(ValueError, match=message):
        settings_from_env(env)


def test_s3_settings():
    settings = settings_from_env({
        "MEDIA_BACKEND": "S3", "MEDIA_S3_BUCKET": "tienda", "MEDIA_S3_PREFIX": "/atiende/media",
        "MEDIA_S3_ENDPOINT": "http://127.0.0.1:9000", "MEDIA_S3_REGION": "eu-south-2",
        "MEDIA_S3_ACCESS_KEY_ID": "key", "MEDIA_S3_SECRET_ACCESS_KEY": "secret"})
    s3 = settings.s3
    assert settings.backend == "s3" and s3 is not None
    assert (s3.bucket, s3.prefix, s3.endpoint_url, s3.region) == (
        "tienda", "atiende/media/", "http://127.0.0.1:9000", "eu-south-2")
    assert "secret" not in repr(settings)  # settings may be logged
    # no keys: boto3's own credential chain (AWS_* variables, instance role) applies
    bare = settings_from_env({"MEDIA_BACKEND": "s3", "MEDIA_S3_BUCKET": "b"}).s3
    assert bare is not None and bare.access_key_id is None and bare.endpoint_url is None


def test_media_dir_inside_the_web_root_is_refused():
    from media_store.settings import WEB_ROOT

    assert (WEB_ROOT / "widget").is_dir()  # the folder the handoff API serves
    with pytest.raises(ValueError, match="outside the web root"):
        settings_from_env({"MEDIA_DIR": str(WEB_ROOT / "uploads")})
    with pytest.raises(ValueError, match="outside the web root"):
        settings_from_env({"ATIENDE_DATA_DIR": str(WEB_ROOT)})


def test_largest_for_source():
    limits = MediaLimits()
    assert limits.largest_for("widget") == limits.image
    assert limits.largest_for("whatsapp") == max(
        limits.image, limits.document, limits.audio, limits.video)
