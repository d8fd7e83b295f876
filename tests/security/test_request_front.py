"""The web workers' front (webapp/ops/front.py) on its own: when a request is whole, what a slow
one gets, and its limits from the config. tests/reliability/test_slow_clients.py floods it."""

from __future__ import annotations

import ipaddress

from webapp.ops.front import settings_from
from webapp.ops.incoming import FrontSettings, Incoming

FRONT = FrontSettings(body_seconds=10, min_rate=2000, max_body=1000)


def test_a_request_is_handed_on_only_when_its_body_is_all_there():
    incoming = Incoming(conn=None, now=0.0)
    incoming.add(b"POST /api/classify HTTP/1.1\r\nContent-Le")
    assert incoming.state(FRONT) == ("more", None)
    incoming.add(b"ngth: 10\r\n\r\n12345")
    assert incoming.state(FRONT) == ("more", None)
    incoming.add(b"67890")
    assert incoming.state(FRONT) == ("ready", None)


def test_expect_100_continue_is_answered_by_the_front_and_not_passed_on():
    incoming = Incoming(conn=None, now=0.0)
    incoming.add(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    verdict, reply = incoming.state(FRONT)
    assert verdict == "continue" and reply.startswith(b"HTTP/1.1 100")
    incoming.add(b"abc")
    assert incoming.state(FRONT) == ("ready", None)
    assert b"expect" not in bytes(incoming.data).lower()


def test_a_body_over_the_limit_goes_on_at_once_for_the_app_to_answer_413():
    incoming = Incoming(conn=None, now=0.0)
    incoming.add(b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n")
    assert incoming.state(FRONT) == ("ready", None)


def test_an_endless_head_is_refused():
    incoming = Incoming(conn=None, now=0.0)
    incoming.add(b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000)
    verdict, reply = incoming.state(FRONT)
    assert verdict == "refuse" and reply.startswith(b"HTTP/1.1 431")


def test_a_body_under_the_minimum_rate_is_too_slow_whatever_length_it_declares():
    incoming = Incoming(conn=None, now=0.0)
    incoming.add(b"POST / HTTP/1.1\r\nContent-Length: 999\r\n\r\n")
    incoming.state(FRONT)
    assert incoming.too_slow(5.0, FRONT, keepalive=5) is None
    assert incoming.too_slow(10.5, FRONT, keepalive=5) == "slow"  # 40 bytes in 10 s


def test_a_body_at_a_steady_rate_is_not_cut_off():
    incoming = Incoming(conn=None, now=0.0)
    incoming.add(b"POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n")
    incoming.state(FRONT)
    for second in range(1, 40):
        incoming.add(b"x" * 2500)
        assert incoming.too_slow(float(second), FRONT, keepalive=5) is None


def test_an_idle_connection_closes_after_keepalive_without_an_answer():
    incoming = Incoming(conn=None, now=0.0)
    assert incoming.too_slow(4.0, FRONT, keepalive=5) is None
    assert incoming.too_slow(6.0, FRONT, keepalive=5) == "idle"


def test_settings_split_the_per_address_limit_and_trust_only_configured_proxies():
    config = {
        "CONNECTIONS_PER_ADDRESS": 32,
        "REQUEST_BODY_SECONDS": 10,
        "REQUEST_BODY_MIN_RATE": 2000,
        "MAX_CONTENT_LENGTH": 10,
        "PROXY_COUNT": 0,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    assert settings_from(config, workers=2).connections_per_address == 16
    assert settings_from(config, workers=2).trusted == []
    proxied = settings_from({**config, "PROXY_COUNT": 1, "FORWARDED_ALLOW_IPS": "10.0.0.0/8"}, 2)
    assert proxied.trusted == [ipaddress.ip_network("10.0.0.0/8")]
