"""Uploads from a URL: fetched over verified HTTPS, never from the server's own network unless
allowed, redirects checked hop by hop, bounded in size and time.

The origin is a real HTTPS server on 127.0.0.1 with a certificate from a test CA (trustme); the
server under test trusts that CA through ``fetch_ca_file`` and may reach loopback only where a
test allows it. Refused addresses are refused before any connection: nothing is ever sent to
10.0.0.1 or 169.254.169.254.
"""
from __future__ import annotations

import ipaddress

import pytest

from server.outbound import OutboundError, address_problem, fetch_to_file
from tests.support.media import https_origin, silent_listener
from tests.support.files import pdf_bytes, png_bytes, sha256_of
from tests.support.server import assert_error, bearer

SESSION = {"chromium": "/bin/false", "max_restarts": 0, "restore_on_boot": False}
LOOPBACK_ONLY = ["127.0.0.0/8"]


def media_settings(origin, **extra):
    return {"whatsapp": {**SESSION, "media": {"fetch_allow_private": True, "fetch_ca_file": str(origin.ca_file), **extra}}}


async def fetch(server, token, user_id, url, **extra):
    return await server.client.post(f"/api/whatsapp/media/{user_id}", json={"url": url, **extra}, headers=bearer(token))


def refused_url(response) -> str:
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"]["url"] == [error["message"]]
    return error["message"]


async def test_a_file_is_fetched_over_https_and_kept(make_server, tmp_path):
    async with https_origin(tmp_path) as origin:
        png = png_bytes(8, 8)
        origin.files["picture.png"] = ("image/png", png)
        origin.files["no-type"] = (None, pdf_bytes())
        origin.files["lying.jpg"] = ("image/jpeg", png)
        server = await make_server(**media_settings(origin))
        token, user = await server.register()
        uid = user["id"]

        got = await fetch(server, token, uid, origin.url("/files/picture.png"))
        assert got.status_code == 201, got.text
        assert got.json() | {"mediaId": None} == {"mediaId": None, "mimetype": "image/png", "size": len(png),
                                                  "sha256": sha256_of(png), "filename": "picture.png"}
        back = await server.client.get(got.headers["Location"], headers=bearer(token))
        assert back.content == png

        named = await fetch(server, token, uid, origin.url("/files/no-type"), filename="report.pdf")
        assert (named.json()["mimetype"], named.json()["filename"]) == ("application/pdf", "report.pdf")
        # Followed redirects land on the file; its name comes from where it was found.
        hop = await fetch(server, token, uid, origin.url("/redirect?to=/redirect%3Fto%3D/files/picture.png"))
        assert (hop.status_code, hop.json()["sha256"], hop.json()["filename"]) == (201, sha256_of(png), "picture.png")
        # The origin's type is a declaration like any other: the bytes decide.
        lying = assert_error(await fetch(server, token, uid, origin.url("/files/lying.jpg")), 422, "validation_failed")
        assert "image/png" in lying["message"] and "image/jpeg" in lying["message"]
        missing = assert_error(await fetch(server, token, uid, origin.url("/files/nothing")), 502, "bad_gateway")
        assert "404" in missing["message"]
        assert await server.count("wa_media") == 3


async def test_addresses_of_the_servers_own_network_are_refused(make_server, tmp_path):
    async with https_origin(tmp_path) as origin:
        origin.files["picture.png"] = ("image/png", png_bytes())
        server = await make_server(whatsapp={**SESSION, "media": {"fetch_ca_file": str(origin.ca_file)}})
        token, user = await server.register()
        uid = user["id"]

        message = refused_url(await fetch(server, token, uid, origin.url("/files/picture.png")))
        assert "loopback" in message and "public" in message
        cases = {
            "http://example.com/x.png": "https://",
            "file:///etc/passwd": "https://",
            "ftp://example.com/x": "https://",
            "https://127.0.0.1/": "loopback",
            "https://localhost/": "loopback",  # a name is checked by what it resolves to
            "https://10.0.0.1/": "private",
            "https://192.168.1.1/": "private",
            "https://169.254.169.254/latest/meta-data/": "link-local",
            "https://[::1]/": "loopback",
            "https://[::ffff:127.0.0.1]/": "loopback",
            "https://[fe80::1]/": "link-local",
            "https://0.0.0.0/": "unspecified",
            "https://224.0.0.1/": "multicast",
            "https://2130706433/": "loopback",  # 127.0.0.1 written as a number
            "https://user:secret@example.com/": "password",
            "https://": "no host",
            "not a url": "spaces",
            "https://no-such-host.invalid/x.png": "could not be found",  # .invalid never resolves
        }
        for url, said in cases.items():
            message = refused_url(await fetch(server, token, uid, url))
            assert said in message, (url, message)
            assert "secret" not in message
        assert await server.count("wa_media") == 0


async def test_every_redirect_is_checked_like_the_first_url(make_server, tmp_path):
    async with https_origin(tmp_path) as origin:
        origin.files["picture.png"] = ("image/png", png_bytes())
        server = await make_server(**media_settings(origin, fetch_private_networks=LOOPBACK_ONLY))
        token, user = await server.register()
        uid = user["id"]
        ok = await fetch(server, token, uid, origin.url("/redirect?to=/files/picture.png"))
        assert ok.status_code == 201, ok.text

        for target, said in (
            ("https://10.0.0.1/secret", "private"),
            ("https://169.254.169.254/latest/meta-data/", "link-local"),
            ("https://[::1]/", "loopback"),
            (f"http://127.0.0.1:{origin.port}/files/picture.png", "https://"),
            ("file:///etc/passwd", "https://"),
        ):
            message = refused_url(await fetch(server, token, uid, origin.url(f"/redirect?to={target}")))
            assert said in message, (target, message)
        loop = origin.url("/redirect?to=/redirect%3Fto%3D/redirect%253Fto%253D/redirect%25253Fto%25253D/files/picture.png")
        assert "more than 3 times" in refused_url(await fetch(server, token, uid, loop))
        assert await server.count("wa_media") == 1


async def test_too_large_too_slow_and_untrusted_fetches_fail_clearly(make_server, tmp_path):
    async with https_origin(tmp_path) as origin:
        origin.big_size = 1024 * 1024
        server = await make_server(**media_settings(origin, max_upload_bytes=64 * 1024))
        token, user = await server.register()
        uid = user["id"]
        # The same database and data folder, with a short fetch timeout.
        impatient = await make_server(**media_settings(origin, max_upload_bytes=64 * 1024, fetch_timeout=1.0))

        declared = assert_error(await fetch(server, token, uid, origin.url("/big")), 413, "payload_too_large")
        assert "65536 bytes" in declared["message"]
        streamed = assert_error(await fetch(server, token, uid, origin.url("/endless")), 413, "payload_too_large")
        assert "65536 bytes" in streamed["message"]
        with silent_listener() as port:
            slow = assert_error(await fetch(impatient, token, uid, f"https://127.0.0.1:{port}/x"), 504, "gateway_timeout")
            assert "did not answer within 1 seconds" in slow["message"]
        assert await server.count("wa_media") == 0
        assert list((server.app.data_dir / "media" / "tmp").iterdir()) == []

    async with https_origin(tmp_path) as other:
        other.files["x.png"] = ("image/png", png_bytes())
        # Not signed by the CA the server trusts: the certificate does not verify.
        untrusted = assert_error(await fetch(server, token, uid, other.url("/files/x.png")), 502, "bad_gateway")
        assert "certificate" in untrusted["message"]
        closed = assert_error(await fetch(server, token, uid, "https://127.0.0.1:1/x"), 502, "bad_gateway")
        assert "connection" in closed["message"]


# -- server.outbound on its own -------------------------------------------------------------------
@pytest.mark.parametrize("address, problem", [
    ("127.0.0.1", "a loopback address"), ("10.1.2.3", "a private address"), ("172.16.0.1", "a private address"),
    ("192.168.0.1", "a private address"), ("100.64.0.1", "a non-public address"), ("169.254.169.254", "a link-local address"),
    ("0.0.0.0", "an unspecified address"), ("224.0.0.251", "a multicast address"), ("240.0.0.1", "a private address"),
    ("::1", "a loopback address"), ("::", "an unspecified address"), ("fe80::1", "a link-local address"),
    ("fc00::1", "a private address"), ("fec0::1", "a private address"), ("ff02::1", "a multicast address"),
    ("::ffff:10.0.0.1", "a private address"), ("::ffff:169.254.169.254", "a link-local address"),
    ("2002:7f00:1::", "a loopback address"), ("64:ff9b::a00:1", "a private address"),
    ("93.184.216.34", None), ("2606:2800:220:1:248:1893:25c8:1946", None), ("::ffff:8.8.8.8", None),
])
def test_what_counts_as_a_public_address(address, problem):
    assert address_problem(ipaddress.ip_address(address)) == problem


async def test_fetch_to_file_writes_a_private_file_and_removes_it_on_failure(tmp_path):
    async with https_origin(tmp_path) as origin:
        data = png_bytes(4, 4)
        origin.files["p.png"] = ("image/png", data)
        dest = tmp_path / "out"
        result = await fetch_to_file(origin.url("/files/p.png"), dest, max_bytes=1024, timeout=10,
                                     allow_private=LOOPBACK_ONLY, ca_file=str(origin.ca_file))
        assert (result.size, result.sha256, result.content_type, result.final_url) == (
            len(data), sha256_of(data), "image/png", origin.url("/files/p.png"))
        assert dest.read_bytes() == data and dest.stat().st_mode & 0o777 == 0o600

        with pytest.raises(OutboundError) as refusal:
            await fetch_to_file(origin.url("/endless"), dest, max_bytes=1000, timeout=10,
                                allow_private=True, ca_file=str(origin.ca_file))
        assert refusal.value.reason == "too_large" and not dest.exists()
        with pytest.raises(OutboundError) as refusal:
            await fetch_to_file(origin.url("/files/p.png"), dest, max_bytes=1024, timeout=10, ca_file=str(origin.ca_file))
        assert refusal.value.reason == "refused" and not dest.exists()
        with pytest.raises(OutboundError) as refusal:
            await fetch_to_file(f"https://localhost:{origin.port}/files/p.png", dest, max_bytes=1024, timeout=10,
                                allow_private=["10.0.0.0/8"], ca_file=str(origin.ca_file))
        # A name is judged by what it resolves to, without saying which address that was.
        assert refusal.value.reason == "refused" and str(refusal.value) == (
            "localhost resolves to a loopback address; only public addresses can be fetched.")
