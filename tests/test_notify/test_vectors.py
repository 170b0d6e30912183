"""Known answers: the vendor sample's notify-like reply (UTF-8) and the official notify MACs."""

from __future__ import annotations

from typing import Any

import pytest

from axepta import Credentials, NotificationError, decode_notification
from axepta.crypto import encode_params, parse_params, sign
from tests.conftest import load_vectors

OTHER_BLOWFISH = "any-blowfish-key"


def vector(name: str, case: str) -> dict[str, Any]:
    return next(v for v in load_vectors(name) if v["case"] == case)


def test_vendor_notify_like_response_decrypts_and_its_placeholder_mac_is_refused() -> None:
    v = vector("vendor_sample.json", "notify_like_response")
    creds = Credentials("BNP_DEMO_AXEPTA", v["blowfish_key"], v["hmac_key"], "utf-8")
    assert creds.codec.decrypt(v["data_hex"], v["len"]) == v["plaintext"]
    body = f"Len={v['len']}&Data={v['data_hex']}"
    with pytest.raises(NotificationError, match="does not verify") as info:
        decode_notification(body, creds)  # the sample carries MAC=0000
    assert info.value.reason == "mac"


def test_vendor_notify_like_response_with_its_real_mac() -> None:
    v = vector("vendor_sample.json", "notify_like_response")
    fields = parse_params(v["plaintext"]).to_dict()
    assert sign(v["hmac_key"], *v["mac_message"].split("*")) == v["mac"].upper()
    creds = Credentials("BNP_DEMO_AXEPTA", v["blowfish_key"], v["hmac_key"], "utf-8")
    enc = creds.codec.encrypt(encode_params({**fields, "MAC": v["mac"]}))  # lower-case, as printed
    note = decode_notification(f"Len={enc.length}&Data={enc.data}".encode(), creds)
    assert note.succeeded and note.status == "AUTHORIZED" and note.state == "completed"
    assert (note.pay_id, note.xid, note.trans_id) == (fields["PayID"], fields["XID"], "TX-2024-0001")


@pytest.mark.parametrize(
    ("case", "succeeded", "state"),
    [("official_notify_authorized", True, "completed"), ("official_notify_failed", False, "failed")],
)
def test_official_notify_mac_vectors(case: str, succeeded: bool, state: str) -> None:
    v = vector("quoted.json", case)
    pay_id, trans_id, mid, status, code = v["mac_message"].split("*")
    creds = Credentials(mid, OTHER_BLOWFISH, v["hmac_key"])
    plaintext = encode_params(
        {"mid": mid, "PayID": pay_id, "XID": "0" * 32, "TransID": trans_id, "Status": status,
         "Description": "x", "Code": code, "MAC": v["mac"]}
    )
    enc = creds.codec.encrypt(plaintext)
    note = decode_notification(f"MerchantID={mid}&Len={enc.length}&Data={enc.data}".encode(), creds)
    assert (note.succeeded, note.state, note.code, note.status) == (succeeded, state, code, status)
    tampered = plaintext.replace(v["mac"], v["mac"][:-1] + ("0" if v["mac"][-1] != "0" else "1"))
    enc = creds.codec.encrypt(tampered)
    with pytest.raises(NotificationError) as info:
        decode_notification(f"Len={enc.length}&Data={enc.data}", creds)
    assert info.value.reason == "mac"
