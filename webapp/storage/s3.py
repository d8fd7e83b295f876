"""Storage in an S3 bucket (AWS or any S3-compatible server) through boto3."""

from __future__ import annotations

from webapp.storage.base import Storage, StorageError, StorageUnavailable, check_key

# S3 error codes that say "not now" (throttling, server trouble) rather than "never" (no such
# bucket, access denied): only these are StorageUnavailable, which a caller may retry.
TRANSIENT = {
    "500",
    "502",
    "503",
    "504",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
}


def _client(endpoint_url: str | None):
    import boto3  # lazily: the local default never needs it
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=20
    )
    return boto3.client("s3", endpoint_url=endpoint_url, config=config)


class S3Storage(Storage):
    """Objects under `s3://bucket/prefix/`."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None):
        if not bucket:
            raise ValueError(
                "STORAGE_URL s3:// needs a bucket name, e.g. s3://my-bucket/celebvision"
            )
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = _client(endpoint_url)

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, fn, **kwargs):
        """Call S3. An outage or throttling leaves as StorageUnavailable, a refusal (missing bucket or
        key, access denied) as StorageError; both carry S3's error code."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            kind = StorageUnavailable if code in TRANSIENT else StorageError
            error = kind(f"S3 refused {fn.__name__} on bucket {self.bucket!r}: {exc}")
            error.code = code
            raise error from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 is unreachable: {exc}") from exc

    def put(self, key, data, content_type="application/octet-stream"):
        self._call(self.client.put_object, Key=self._key(key), Body=data, ContentType=content_type)

    def get(self, key):
        try:
            return self._call(self.client.get_object, Key=self._key(key))["Body"].read()
        except StorageError as exc:
            if exc.code in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            raise

    def exists(self, key):
        try:
            self._call(self.client.head_object, Key=self._key(key))
            return True
        except StorageError as exc:
            if exc.code in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def delete(self, key):
        self._call(self.client.delete_object, Key=self._key(key))

    def list(self, prefix=""):
        full = self._key(prefix) if prefix else (self.prefix + "/" if self.prefix else "")
        keys, token = [], None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call(self.client.list_objects_v2, Prefix=full, **extra)
            keys += [o["Key"] for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                break
            token = page["NextContinuationToken"]
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted(k[cut:] for k in keys)

    def check(self):
        self._call(self.client.head_bucket)

    def __repr__(self):
        return f"S3Storage({self.bucket!r}, {self.prefix!r})"
