"""Issue 11 item 4: an approval URL is checked as a browser reads it. Python's ``urlsplit`` and
the WHATWG URL parser (what browsers use) disagree on backslashes, userinfo, percent-encoded
hosts, missing slashes, tabs and more; the client accepts only URLs on which they cannot
disagree, then applies the host rule (paypal.com, or loopback for the simulator)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from typing import Any
from urllib.parse import quote

import pytest

from axepta.credentials import Credentials
from axepta.errors import ProtocolError
from axepta.models import PayPalOrderRequest, PayPalOrderResult
from axepta.protocol import ProtocolCore, RawReply, _browser_url
from tests.test_client._support import PAY_ID, URLS

ORDER: dict[str, Any] = {"trans_id": "T-1", "amount": 1999, "currency": "EUR", "order_desc": "Book", **URLS}

GOOD = [
    "https://www.paypal.com/agreements/approve?ba_token=BA-1",
    "https://www.sandbox.paypal.com/checkoutnow?token=5O190127TN364715T&useraction=commit",
    "https://paypal.com/x#frag",
    "https://WWW.PayPal.COM:443/x/y;z?a=b%20c",
    "http://127.0.0.1:8765/paypal/checkoutnow?token=ABC",
    "http://localhost:8000/paypal/agreements/approve?ba_token=BA-1",
    "https://[::1]:8443/paypal",
]

BAD = [
    # the observed case: urlsplit sees www.paypal.com, a browser sees evil.example
    "https://evil.example\\@www.paypal.com/agreements/approve",
    "https://evil.example\\.www.paypal.com/",
    "https://www.paypal.com\\evil",
    "https:\\\\www.paypal.com/",
    # userinfo, even harmless-looking
    "https://user@www.paypal.com/",
    "https://user:pw@www.paypal.com/",
    "https://www.paypal.com@evil.example/",
    "https://@www.paypal.com/",
    # hosts the parsers read differently (percent-decoding, IPv4 forms, trailing dot, IDNA)
    "https://evil%2ewww.paypal.com/",
    "https://www%2Epaypal.com/",
    "http://0x7f.0.0.1/paypal",
    "http://127.1/paypal",
    "http://2130706433/paypal",
    "https://www.paypal.com./",
    "https://www.payp\u0430l.com/",
    "https://www.paypal.com\u3002evil.example/",
    # slashes the WHATWG parser forgives and urlsplit does not
    "https:/www.paypal.com/x",
    "https:www.paypal.com/x",
    "https:///www.paypal.com/x",
    # whitespace and control characters browsers strip or encode
    "https://www.paypal.com\t.evil.example/",
    "https://www.pay\npal.com/",
    "https://www.paypal.com/x y",
    "https://www.paypal.com/\x00",
    # ports
    "https://www.paypal.com:99999/",
    "https://www.paypal.com:/x",
    "https://www.paypal.com:0x1bb/",
    # other characters outside the shared grammar
    "https://www.paypal.com/<script>",
    'https://www.paypal.com/"',
    "https://www.paypal.com/x#a#b",
    "https://www.paypal.com/%zz",
    "https://www.paypal.com/a/../b",
    "https://www.paypal.com/a/%2E%2e/b",
    "https://www.paypal.com/" + "a" * 2100,
]

#: refused by the host rule (paypal.com over https, or loopback), not by the grammar
HOST_BAD = [
    "http://www.paypal.com/x",
    "javascript:alert(1)//www.paypal.com",
    "https://paypal.com.evil.example/",
    "https://evilpaypal.com/",
    "ftp://www.paypal.com/",
]


@pytest.fixture
def core(credentials: Credentials) -> ProtocolCore:
    return ProtocolCore(credentials)


def _baid_reply(core: ProtocolCore, url: str) -> Any:
    prepared = core.prepare(PayPalOrderRequest(**{**ORDER, "tx_type": "BAID", "ref_nr": "B1"}))
    body = f"PayID={PAY_ID}&TransID=T-1&paypalurl={quote(url, safe='')}"
    return core.parse_reply(prepared, RawReply(200, body.encode("ascii")))


def _redirect_reply(core: ProtocolCore, url: str) -> Any:
    prepared = core.prepare(PayPalOrderRequest(**{**ORDER, "mode": "redirect"}))
    return core.parse_reply(prepared, RawReply(302, b"", url))


@pytest.mark.parametrize("url", GOOD)
def test_urls_both_parsers_read_alike_are_accepted(core: ProtocolCore, url: str) -> None:
    result = _baid_reply(core, url)
    assert isinstance(result, PayPalOrderResult) and result.paypal_url == url
    assert _redirect_reply(core, url).redirect_url == url


@pytest.mark.parametrize("url", [*BAD, *HOST_BAD])
def test_paypalurl_the_parsers_could_read_differently_is_refused(core: ProtocolCore, url: str) -> None:
    with pytest.raises(ProtocolError, match="approval URL"):
        _baid_reply(core, url)


@pytest.mark.parametrize("url", BAD)
def test_redirect_location_the_parsers_could_read_differently_is_refused(core: ProtocolCore, url: str) -> None:
    with pytest.raises(ProtocolError, match="Location"):
        _redirect_reply(core, url)


def test_the_message_does_not_echo_a_hostile_url_unbounded(core: ProtocolCore) -> None:
    url = "https://evil.example\\@www.paypal.com/" + "a" * 5000
    with pytest.raises(ProtocolError) as info:
        _baid_reply(core, url)
    assert len(str(info.value)) < 400


def _node() -> str | None:
    return shutil.which("node")


@pytest.mark.skipif(_node() is None, reason="needs node (its URL class is the WHATWG parser)")
def test_every_accepted_url_has_the_same_host_for_a_browser() -> None:
    """Mutations of approval URLs with the characters the parsers treat differently: whenever
    the grammar accepts one, node's WHATWG ``URL`` reads the same scheme and host."""
    rng = random.Random(11)
    alphabet = ["\\", "@", "%2e", "%40", "%5c", ".", "/", ":", "\t", "\n", " ", "#", "?", "[", "]", "0x", "127",
                "1", "..", "'", '"', "\u3002", "A", "%", ":443", "evil", "-"]  # fmt: skip
    seeds = [*GOOD, "https://www.paypal.com/", "https://evil.example/", "http://127.0.0.1/"]
    candidates: list[str] = []
    for _ in range(4000):
        url = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(url))
            url = url[:at] + rng.choice(alphabet) + url[at:]
        candidates.append(url)
    accepted = [(url, _browser_url(url)) for url in candidates + GOOD]
    accepted = [(url, split) for url, split in accepted if split is not None]
    assert len(accepted) > 100
    script = (
        "const urls = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(urls.map(u => { try { const p = new URL(u);"
        " return [p.protocol.slice(0, -1), p.hostname, p.username + p.password]; } catch (e) { return null; } })));"
    )
    node = _node()
    assert node is not None
    out = subprocess.run([node, "-e", script], input=json.dumps([u for u, _ in accepted]), capture_output=True,
                         text=True, timeout=60, check=True)  # fmt: skip
    for (url, (scheme, host)), browser in zip(accepted, json.loads(out.stdout), strict=True):
        assert browser == [scheme, host, ""], url
