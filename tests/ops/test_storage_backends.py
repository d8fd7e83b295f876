"""The same storage tests against the local directory and a real S3 server over HTTP."""

import pytest

from tests.services import fake_aws_credentials, free_port
from webapp.storage import StorageError, StorageUnavailable, open_storage


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "file":
        return open_storage(f"file://{tmp_path}/store")
    endpoint = request.getfixturevalue("moto_endpoint")
    fake_aws_credentials(monkeypatch)
    import boto3

    bucket = f"b-{tmp_path.name[-20:].lower().replace('_', '-')}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return open_storage(f"s3://{bucket}/prefix/x", endpoint_url=endpoint)


def test_put_get_roundtrip(store):
    store.put("images/ab/abc.jpg", b"\xff\xd8data", content_type="image/jpeg")
    assert store.get("images/ab/abc.jpg") == b"\xff\xd8data"
    assert store.exists("images/ab/abc.jpg")


def test_missing_key_is_keyerror(store):
    with pytest.raises(KeyError):
        store.get("images/none.jpg")
    assert not store.exists("images/none.jpg")


def test_put_replaces_and_delete_removes(store):
    store.put("a/b.bin", b"one")
    store.put("a/b.bin", b"two")
    assert store.get("a/b.bin") == b"two"
    store.delete("a/b.bin")
    store.delete("a/b.bin")  # deleting twice is fine
    assert not store.exists("a/b.bin")


def test_list_by_prefix(store):
    for key in ("models/gender/v1.tar.gz", "models/gender/v2.tar.gz", "images/x.png"):
        store.put(key, b"x")
    assert store.list("models/") == ["models/gender/v1.tar.gz", "models/gender/v2.tar.gz"]
    assert "images/x.png" in store.list()


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "", "a b"])
def test_unsafe_keys_refused(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_health_check_passes(store):
    store.check()


def test_s3_unreachable_is_storage_unavailable(monkeypatch):
    fake_aws_credentials(monkeypatch)
    store = open_storage("s3://bucket/p", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageUnavailable):
        store.put("a.bin", b"x")
    with pytest.raises(StorageUnavailable):
        store.check()


def test_unknown_scheme_refused():
    with pytest.raises(ValueError, match="file:// or s3://"):
        open_storage("ftp://host/x")


def test_s3_refusal_is_a_storage_error_not_an_outage(moto_endpoint, monkeypatch):
    fake_aws_credentials(monkeypatch)
    store = open_storage("s3://no-such-bucket/p", endpoint_url=moto_endpoint)
    with pytest.raises(StorageError) as refused:
        store.put("a.bin", b"x")
    assert not isinstance(
        refused.value, StorageUnavailable
    )  # retrying will not help: fix the configuration
    assert refused.value.code == "NoSuchBucket" and "no-such-bucket" in str(refused.value)
