import pytest

from openvod.domain.keys import validate_bucket, validate_key
from openvod.errors import InvalidParameter


@pytest.mark.parametrize("key", ["a", "media/123/clip.mp4", "a/b/c.d", "名字/视频.mp4", "x" * 1024])
def test_good_keys_pass(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "..", "../etc/passwd", "a/../../b", "/abs/path", "a//b", "a/./b", "a\x00b", "a\nb", "a\x7fb",
     "a\\..\\b", "C:/win", "x" * 1025, "é" * 513, "trailing/"],
)
def test_bad_keys_refused(key: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        validate_key(key)
    assert err.value.code == "InvalidParameter.ObjectKey"


@pytest.mark.parametrize("bucket", ["ab", "-ab", "Bucket", "a..b", "a/b", "a" * 64, "a_b"])
def test_bad_buckets_refused(bucket: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        validate_bucket(bucket)
    assert err.value.code == "InvalidParameter.Bucket"


def test_good_bucket() -> None:
    assert validate_bucket("vod") == "vod"
    assert validate_bucket("my-bucket.v2") == "my-bucket.v2"
