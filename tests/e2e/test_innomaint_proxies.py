"""The client behind a forward proxy, as many utility networks run: HTTP_PROXY to the simulator,
HTTPS_PROXY with a CONNECT tunnel to a TLS vendor of a private CA (INNOMAINT_CA_FILE), and
NO_PROXY."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import trustme

from ic3sync.config import Settings
from ic3sync.errors import VendorError
from ic3sync.innomaint.client import InnomaintClient
from tests.e2e.test_innomaint_client import SERIAL, TOKEN, client, keep_alive, vendor
from tests.procs import simulator_process
from tests.proxy import ForwardProxy

__all__ = ["vendor"]  # the fixture, used by name


@pytest.fixture
def proxy(monkeypatch) -> Iterator[ForwardProxy]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with ForwardProxy() as running:
        yield running


def test_a_fetch_reaches_the_simulator_through_http_proxy(proxy, monkeypatch, tmp_path) -> None:
    with simulator_process(tmp_path, token=TOKEN) as url:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with client(url) as c:
            assert c.fetch(SERIAL).http_status == 200
        # httpx goes direct to a loopback address only when NO_PROXY says so.
        assert proxy.seen == [f"POST {url}"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with client(url) as c:
            assert c.fetch(SERIAL).http_status == 200
        assert len(proxy.seen) == 1


@pytest.fixture
def tls_vendor(vendor):
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(tls)
    return authority, vendor(keep_alive, tls=tls)


def test_https_proxy_tunnels_to_a_vendor_of_a_private_ca_given_its_bundle(
    proxy, tls_vendor, monkeypatch, tmp_path
) -> None:
    authority, server = tls_vendor
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("INNOMAINT_CA_FILE", str(bundle))
    settings = Settings(_env_file=None, api_url=server.url, api_token=TOKEN, rate_ms=0)
    with InnomaintClient.from_settings(settings) as c:
        assert [c.fetch(SERIAL).attempts for _ in range(2)] == [1, 1]
    assert proxy.seen == [f"CONNECT localhost:{server.port}"]  # one tunnel, kept alive
    assert len(server.requests) == 2


def test_without_the_bundle_the_tunnelled_vendor_fails_naming_its_certificate(
    proxy, tls_vendor, monkeypatch
) -> None:
    _, server = tls_vendor
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with client(server.url) as c, pytest.raises(VendorError) as caught:
        c.fetch(SERIAL)
    assert caught.value.kind == "connection"
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.reason
    assert proxy.seen == [f"CONNECT localhost:{server.port}"]
    assert server.requests == []
