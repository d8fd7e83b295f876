"""Every per-address limit counts an IPv6 client as its whole /64 (one subscriber may
pick any address in it), as votes, the job cap and the quota already did."""

import pytest

from tests.conftest import build_app, dispose, make_config
from tests.http_helpers import at


@pytest.fixture
def strict_app(tmp_path):
    app = build_app(make_config(tmp_path, RATE_LIMIT_FEEDBACK="3/minute"))
    yield app
    dispose(app)


def test_new_addresses_in_one_64_share_a_rate_limit(strict_app):
    client = strict_app.test_client()
    codes = [client.get("/login", **at(f"2001:db8:1:2::{i:x}")).status_code for i in range(1, 5)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/login", **at("2001:db8:1:3::1")).status_code == 200  # another /64


def test_ipv4_addresses_are_counted_one_by_one(strict_app):
    client = strict_app.test_client()
    codes = [client.get("/login", **at(f"10.1.0.{i}")).status_code for i in range(1, 5)]
    assert codes == [200] * 4
