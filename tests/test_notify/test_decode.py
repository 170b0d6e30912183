"""decode_notification: genuine results typed, every tampering rejected with its reason."""

from __future__ import annotations

import logging
import pickle
from decimal import Decimal
from typing import Any

import pytest

import axepta.notify
from axepta import Credentials, Notification, NotificationError, decode_notification
from axepta.crypto import encode_params
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_notify._support import (
    PAY_ID,
    TRANS_ID,
    XID,
    body,
    encrypt,
    encrypt_padded,
    genuine_body,
    result_fields,
    with_mac,
)


def reject(payload: Any, creds: Credentials, reason: str, match: str | None = None, **kwargs: Any) -> NotificationError:
    with pytest.raises(NotificationError, match=match) as info:
        decode_notification(payload, creds, **kwargs)
    assert info.value.reason == reason, info.value
    return info.value


# ---------------------------------------------------------------------------- genuine


def test_genuine_notification_is_typed(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(), credentials)
    assert isinstance(note, Notification)
    assert note.succeeded and note.state == "completed" and note.final and not note.pending
    assert note.outcome == "success"
    assert (note.merchant_id, note.pay_id, note.xid, note.trans_id) == (DEMO_MID, PAY_ID, XID, TRANS_ID)
    assert (note.status, note.code, note.description, note.code_ext) == ("OK", "00000000", "success", "0")
    assert (note.ref_nr, note.user_data, note.info_text) == ("INV-0001", "cart=42;lang=fr", "Thank you")
    # payer
    assert (note.name, note.first_name, note.last_name) == ("Jean Dupont", "Jean", "Dupont")
    assert note.email == "jean.dupont@example.com"
    assert (note.payer_id, note.payer_status, note.phone) == ("LPLWNMTBWMFAY", "verified", "+33 1 23 45 67 89")
    # delivery address
    assert note.addr_street == "1 rue de la Paix" and note.addr_street2 == "Bâtiment B"
    assert (note.addr_city, note.addr_state, note.addr_zip, note.addr_country_code) == ("Paris", "IDF", "07500", "FR")
    # billing address held by PayPal; an empty value is None
    assert note.billing_name == "Jean Dupont" and note.billing_addr_street == "2 avenue Foch"
    assert note.billing_addr_street2 is None
    assert (note.billing_addr_city, note.billing_addr_state) == ("Lyon", "ARA")
    assert (note.billing_addr_zip, note.billing_addr_country_code) == ("69006", "FR")
    # PayPal ids
    assert (note.tid, note.transaction_id) == ("8AB12345CD6789012", "5O190127TN364715T")
    assert note.billing_agreement_id == "B-5YM40429LR0584042"
    # amounts: platform amounts stay text, IPN-style ones are Decimal
    assert (note.gross_amount, note.fee_amount, note.settle_amount) == ("12.34", "0.63", "11.71")
    assert (note.tax_amount, note.exchange_rate) == ("2.06", "1.0")
    assert note.mc_gross == Decimal("12.34") and note.mc_fee == Decimal("0.63")
    # marketplace units
    first, second = note.order_status
    assert (first.index, first.status, first.id, first.invoice_id) == (1, "COMPLETED", "7TS45464Y1234567A", "INV-1-A")
    assert first.completed and first.capture_id == "7TS45464Y1234567A"
    assert (second.index, second.status, second.completed, second.capture_id) == (2, "FAILED", False, None)
    # unknown keys kept with their spelling; MAC kept out; clear extras apart
    assert note.raw["NewField"] == "kept" and note.raw["E-Mail"] == "jean.dupont@example.com"
    assert "MAC" not in note.raw and "Data" not in note.raw
    assert dict(note.clear) == {"MerchantID": DEMO_MID}
    assert note.encrypted


def test_keys_are_case_insensitive(credentials: Credentials) -> None:
    fields = result_fields()
    renamed = {k.lower() if k in ("PayID", "TransID", "Status", "Code", "E-Mail", "AddrZip") else k: v for k, v in fields.items()}
    renamed["MID"] = renamed.pop("mid")
    plaintext = encode_params({**renamed, "mac": with_mac(fields)["MAC"]})
    data, length = encrypt(plaintext)
    note = decode_notification(f"merchantid={DEMO_MID}&LEN={length}&data={data}".encode(), credentials)
    assert (note.pay_id, note.trans_id, note.email, note.addr_zip) == (PAY_ID, TRANS_ID, "jean.dupont@example.com", "07500")
    assert note.raw["e-mail"] == "jean.dupont@example.com"


def test_query_string_and_mapping_payloads(credentials: Credentials) -> None:
    raw = genuine_body()
    from_bytes = decode_notification(raw, credentials)
    text = raw.decode("ascii")
    assert decode_notification(text, credentials) == from_bytes
    assert decode_notification("?" + text, credentials) == from_bytes
    mapping = dict(part.split("=", 1) for part in text.split("&"))
    assert decode_notification(mapping, credentials) == from_bytes
    assert decode_notification(bytearray(raw), credentials) == from_bytes
    assert decode_notification(memoryview(raw), credentials) == from_bytes


def test_form_encoding_of_the_outer_body_is_undone(credentials: Credentials) -> None:
    data, length = encrypt(encode_params(with_mac(result_fields())))
    raw = f"MerchantID=BNP%5FDEMO%5FAXEPTA&Len=+{length}+&Data={data}%0D%0A".encode()
    assert decode_notification(raw, credentials).succeeded


def test_without_len_and_with_whitespace(credentials: Credentials) -> None:
    data, _ = encrypt(encode_params(with_mac(result_fields())))
    assert decode_notification(body(data, None) + b"\r\n", credentials).succeeded


def test_lower_case_mac_and_mac_with_spaces(credentials: Credentials) -> None:
    fields = with_mac(result_fields())
    for mac in (fields["MAC"].lower(), f"  {fields['MAC']} "):
        data, length = encrypt(encode_params({**fields, "MAC": mac}))
        assert decode_notification(body(data, length), credentials).succeeded


@pytest.mark.parametrize("pad", [b" ", b"\x00", b"pkcs7"], ids=["space", "zero", "pkcs7"])
def test_space_zero_and_pkcs7_padding(credentials: Credentials, pad: bytes) -> None:
    plaintext = encode_params(with_mac(result_fields(NewField="x")))
    assert len(plaintext) % 8, "the plaintext must need padding"
    data = encrypt_padded(plaintext.encode("iso-8859-1"), pad)
    note = decode_notification(body(data, len(plaintext)), credentials)
    assert note.succeeded and note.raw["NewField"] == "x"
    assert decode_notification(body(data, None), credentials).succeeded


def test_latin1_names(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(FirstName="Françoise", LastName="Müller-Lüdenscheidt", AddrCity="Besançon"), credentials)
    assert (note.first_name, note.last_name, note.addr_city) == ("Françoise", "Müller-Lüdenscheidt", "Besançon")


def test_utf8_names_on_a_utf8_account() -> None:
    creds = Credentials("SHOP_UTF8_t", DEMO_BLOWFISH, DEMO_HMAC, "utf-8")
    note = decode_notification(genuine_body(creds, FirstName="Zoë", LastName="李小龍", AddrStreet="Straße 5 – Hof"), creds)
    assert (note.first_name, note.last_name, note.addr_street) == ("Zoë", "李小龍", "Straße 5 – Hof")
    assert note.merchant_id == "SHOP_UTF8_t"


def test_latin1_bytes_on_a_utf8_account_fall_back_to_cp1252() -> None:
    creds = Credentials("SHOP_UTF8_t", DEMO_BLOWFISH, DEMO_HMAC, "utf-8")
    fields = with_mac(result_fields(mid="SHOP_UTF8_t", FirstName="Hélène"), mid="SHOP_UTF8_t")
    data, length = encrypt(encode_params(fields))  # encrypted as ISO-8859-1
    note = decode_notification(body(data, length, clear=""), creds)
    assert note.first_name == "Hélène" and note.succeeded


def test_failure_replayed_to_the_success_url_stays_a_failure(credentials: Credentials) -> None:
    failed = genuine_body(Status="FAILED", Code="22150053", Description="cancelled by user")
    note = decode_notification(failed, credentials)  # whatever URL received it
    assert not note.succeeded
    assert (note.state, note.outcome, note.final, note.pending) == ("failed", "failed", True, False)


def test_authorize_request_is_approved_but_not_final(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(Status="AUTHORIZE_REQUEST"), credentials)
    assert note.succeeded and note.awaiting_completion
    assert (note.state, note.final, note.pending) == ("approved", False, True)


def test_timeout_is_expired(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(Status="Timeout"), credentials)
    assert note.expired and not note.succeeded
    assert (note.state, note.final, note.pending) == ("expired", True, False)


@pytest.mark.parametrize(
    ("code", "state", "final", "pending", "outcome"),
    [
        ("60000000", "pending", False, True, "pending"),
        ("00000001", "review", False, False, "review"),
        ("41500000", "failed", True, False, "fatal"),
        ("2294014b", "failed", True, False, "failed"),
        ("XYZ", "review", False, False, "invalid"),
        (None, "review", False, False, "invalid"),
    ],
)
def test_states_by_code(credentials: Credentials, code: str | None, state: str, final: bool, pending: bool, outcome: str) -> None:
    note = decode_notification(genuine_body(Code=code), credentials)
    assert (note.state, note.final, note.pending, note.outcome, note.succeeded) == (state, final, pending, outcome, False)


def test_code_is_upper_cased_after_the_mac(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(Code="2294014b"), credentials)
    assert note.code == "2294014B"


def test_unknown_status_with_success_is_logged(credentials: Credentials, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="axepta.notify"):
        note = decode_notification(genuine_body(Status="CAPTURED_SOMEHOW"), credentials)
    assert note.succeeded and note.state == "completed"
    assert "CAPTURED_SOMEHOW" in caplog.text


def test_malformed_amounts_stay_text(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(mc_gross="12,34", mc_fee="NaN"), credentials)
    assert note.mc_gross is None and note.mc_fee is None
    assert note.raw["mc_gross"] == "12,34"
    negative = decode_notification(genuine_body(mc_gross="-5.00", mc_fee=""), credentials)
    assert negative.mc_gross == Decimal("-5.00") and negative.mc_fee is None


def test_undecodable_order_status_keeps_its_text(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(OrderStatus1="not base64!", OrderStatus2="WzEsMl0=", OrderStatus3="eyJpZCI6IHt9fQ=="), credentials)
    one, two, three = note.order_status
    assert (one.status, one.id, one.encoded) == (None, None, "not base64!")
    assert two.status is None  # a JSON list, not an object
    assert three.id is None  # {"id": {}}: not text


def test_no_order_status_reads_as_empty(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(OrderStatus1=None, OrderStatus2=None), credentials)
    assert note.order_status == ()


# ---------------------------------------------------------------------------- rejected


def _bound_blocks(plaintext: str) -> set[int]:
    """The 8-byte blocks that hold a field the MAC binds (PayID, TransID, Status, Code, MAC
    itself): changing any of them must be detected. (``mid`` is checked but not bound: a
    garbled ``mid`` key simply leaves the message without one, and D9 takes the configured MID.)"""
    blocks: set[int] = set()
    for segment_start, segment in _segments(plaintext):
        if segment.split("=", 1)[0] in ("PayID", "TransID", "Status", "Code", "MAC"):
            blocks.update(range(segment_start // 8, (segment_start + len(segment)) // 8 + 1))
    return blocks


def _segments(plaintext: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for segment in plaintext.split("&"):
        out.append((pos, segment))
        pos += len(segment) + 1
    return out


def test_one_hex_digit_changed(credentials: Credentials) -> None:
    plaintext = encode_params(with_mac(result_fields()))
    data, length = encrypt(plaintext)
    genuine = decode_notification(body(data, length), credentials)
    bound = _bound_blocks(plaintext)
    assert len(bound) >= 12
    caught = passed = 0
    reasons: set[str] = set()
    for block in range(len(data) // 16):
        for digit in (block * 16, block * 16 + 9):
            changed = data[:digit] + ("0" if data[digit] != "0" else "1") + data[digit + 1 :]
            if block in bound:
                with pytest.raises(NotificationError) as info:
                    decode_notification(body(changed, length), credentials)
                assert info.value.reason in ("mac", "merchant", "decrypt")
                continue
            # Outside the MAC, a garbled block is caught when it yields control characters or
            # breaks a name (most of the time); a block inside a value that happens to decrypt
            # to printable bytes changes that value only. The protocol's limit, documented in
            # docs/notifications.md; the payment itself is decided by the bound fields.
            try:
                note = decode_notification(body(changed, length), credentials)
            except NotificationError as exc:
                reasons.add(exc.reason)
                caught += 1
            else:
                assert note.raw != genuine.raw
                assert (note.pay_id, note.trans_id, note.status, note.code) == (PAY_ID, TRANS_ID, "OK", "00000000")
                passed += 1
    assert caught > 3 * passed and reasons <= {"decrypt", "merchant"}

def test_one_digit_of_the_mac_changed(credentials: Credentials) -> None:
    fields = with_mac(result_fields())
    mac = fields["MAC"]
    data, length = encrypt(encode_params({**fields, "MAC": mac[:10] + ("0" if mac[10] != "0" else "1") + mac[11:]}))
    reject(body(data, length), credentials, "mac", "does not verify")


def test_control_characters_or_odd_names_mean_tampering(credentials: Credentials) -> None:
    for extra in ("&Name=Jean\x00Dupont", "&Info=a\tb", "&Bad Key=1", "&=orphan", "&Clé=1", "&K\x7f=1"):
        data, length = encrypt(encode_params(with_mac(result_fields())) + extra)
        reject(body(data, length), credentials, "decrypt", "control characters or malformed names")


def test_truncated_data(credentials: Credentials) -> None:
    raw = genuine_body().decode()
    prefix, data = raw.split("&Data=")
    reject(f"{prefix}&Data={data[:-16]}", credentials, "decrypt", "exceeds the decrypted length")
    reject(f"{prefix}&Data={data[:-3]}", credentials, "decrypt", "odd number")
    reject(f"{prefix}&Data={data[:-2]}", credentials, "decrypt", "whole number of 8-byte blocks")


def test_wrong_blowfish_key(credentials: Credentials) -> None:
    other = Credentials(DEMO_MID, "another-16-bytes", DEMO_HMAC)
    reject(genuine_body(), other, "decrypt", "wrong Blowfish key")


def test_wrong_hmac_key(credentials: Credentials) -> None:
    other = Credentials(DEMO_MID, DEMO_BLOWFISH, "some-other-hmac-key")
    reject(genuine_body(), other, "mac", "MAC does not verify")


def test_foreign_merchant_encrypted(credentials: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_mac(*args: object) -> bool:
        raise AssertionError("the MAC must not be computed for a foreign merchant")

    monkeypatch.setattr(axepta.notify, "_mac_matches", no_mac)
    fields = with_mac(result_fields(mid="OTHER_SHOP"), mid="OTHER_SHOP")
    data, length = encrypt(encode_params(fields))
    reject(body(data, length, clear=""), credentials, "merchant", "another merchant ID")
    fields = with_mac(result_fields(mid=None, MerchantID=" OTHER_SHOP "), mid="OTHER_SHOP")
    data, length = encrypt(encode_params(fields))
    reject(body(data, length, clear=""), credentials, "merchant")


def test_foreign_merchant_in_clear(credentials: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(axepta.notify, "_mac_matches", lambda *a: pytest.fail("MAC computed"))
    raw = genuine_body().replace(f"MerchantID={DEMO_MID}".encode(), b"MerchantID=OTHER_SHOP")
    reject(raw, credentials, "merchant")
    raw = genuine_body().replace(f"MerchantID={DEMO_MID}".encode(), b"mid=OTHER_SHOP")
    reject(raw, credentials, "merchant")


def test_mac_computed_with_another_merchant_is_rejected(credentials: Credentials) -> None:
    # a genuine message of another merchant that carries no mid at all: the MAC binds our MID
    fields = with_mac(result_fields(mid=None), mid="OTHER_SHOP")
    data, length = encrypt(encode_params(fields))
    reject(body(data, length, clear=""), credentials, "mac")


def test_missing_and_empty_mac(credentials: Credentials) -> None:
    data, length = encrypt(encode_params(result_fields()))
    reject(body(data, length), credentials, "mac", "carries no MAC")
    data, length = encrypt(encode_params({**result_fields(), "MAC": "  "}))
    reject(body(data, length), credentials, "mac", "carries no MAC")


def test_mac_in_clear_beside_data_does_not_count(credentials: Credentials) -> None:
    fields = with_mac(result_fields())
    data, length = encrypt(encode_params(result_fields()))
    reject(body(data, length) + f"&MAC={fields['MAC']}".encode(), credentials, "mac", "carries no MAC")


def test_clear_fields_beside_data_are_never_typed(credentials: Credentials) -> None:
    raw = genuine_body(mc_gross=None) + b"&mc_gross=9999.00&TID=FORGED&Custom=abc"
    note = decode_notification(raw, credentials)
    assert note.mc_gross is None and note.tid == "8AB12345CD6789012"
    assert note.clear["mc_gross"] == "9999.00" and "mc_gross" not in note.raw


def test_malformed_mac(credentials: Credentials) -> None:
    data, length = encrypt(encode_params({**result_fields(), "MAC": "XYZ"}))
    reject(body(data, length), credentials, "mac", "does not verify")


def test_oversized(credentials: Credentials) -> None:
    reject(b"A" * (256 * 1024 + 1), credentials, "size")
    reject("A" * (256 * 1024 + 1), credentials, "size")
    reject({"Data": "A" * (256 * 1024 + 1)}, credentials, "size")
    reject(genuine_body(), credentials, "size", max_bytes=100)
    reject(f"Data={'A' * 70000}", credentials, "decrypt", "longer than the cap")


def test_non_hex_and_aes_data(credentials: Credentials) -> None:
    reject(b"Len=8&Data=ZZZZZZZZZZZZZZZZ", credentials, "decrypt", "not hex digits")
    reject(b"Data=0011223344556677-8899AABBCCDDEEFF", credentials, "decrypt", "AES")


def test_empty_inputs(credentials: Credentials) -> None:
    reject(b"", credentials, "missing_data", "no Data")
    reject("", credentials, "missing_data")
    reject({}, credentials, "missing_data")
    reject(b"Len=0&Data=", credentials, "mac", "no MAC")
    reject(b"Data=", credentials, "decrypt", "empty")
    reject(b"&&&", credentials, "missing_data")


def test_bad_len(credentials: Credentials) -> None:
    data, length = encrypt(encode_params(with_mac(result_fields())))
    reject(body(data, length + 50), credentials, "decrypt", "exceeds")
    reject(f"Len=abc&Data={data}", credentials, "decrypt", "decimal integer")
    reject(f"Len={'9' * 5000}&Data={data}", credentials, "decrypt")


def test_wrong_payload_types(credentials: Credentials) -> None:
    reject(12345, credentials, "format", "not int")
    reject(["Data", "00"], credentials, "format")
    reject({"Data": b"00"}, credentials, "format", "text to text")
    reject({1: "x"}, credentials, "format")


def test_duplicated_critical_keys(credentials: Credentials) -> None:
    raw = genuine_body()
    reject(raw + b"&data=00", credentials, "format", "occurs twice")
    reject({"Data": "00", "DATA": "11"}, credentials, "format")
    fields = with_mac(result_fields())
    data, length = encrypt(encode_params(fields) + "&payid=other")
    reject(body(data, length), credentials, "format", "occurs twice")


def test_duplicated_ordinary_key_is_refused(credentials: Credentials) -> None:
    """D2 as amended, D14: in a notification any repeated name is an error, not only the critical
    ones (the first-occurrence rule let spliced blocks of another result win)."""
    fields = with_mac(result_fields())
    data, length = encrypt(encode_params(fields) + "&FirstName=Second")
    reject(body(data, length), credentials, "format", "occurs twice")
    data, length = encrypt(encode_params(fields))
    reject(body(data, length) + b"&Custom=1&custom=2", credentials, "format", "occurs twice")


def test_clear_results_are_refused_by_default(credentials: Credentials) -> None:
    clear = encode_params(with_mac(result_fields(AddrStreet2="B")))
    reject(clear, credentials, "missing_data", "in clear are refused")
    note = decode_notification(clear, credentials, allow_clear=True)
    assert note.succeeded and not note.encrypted and note.first_name == "Jean"
    forged = encode_params({**with_mac(result_fields()), "Code": "00000000", "Status": "FAILED"})
    reject(forged, credentials, "mac", allow_clear=True)
    reject("PayID=\ud800&MAC=" + "0" * 64, credentials, "mac", allow_clear=True)


def test_errors_never_carry_secrets_data_or_mac(credentials: Credentials) -> None:
    fields = with_mac(result_fields())
    data, length = encrypt(encode_params(fields))
    wrong = Credentials(DEMO_MID, "another-16-bytes", "other-hmac")
    cases: list[tuple[Any, Credentials]] = [
        (body(data, length), wrong),
        (body(data[:-16], length), credentials),
        (body(data, length).replace(b"MerchantID=BNP", b"MerchantID=ZZZ"), credentials),
        (body(encrypt(encode_params({**fields, "MAC": "A" * 64}))[0], None), credentials),
    ]
    for payload, creds in cases:
        with pytest.raises(NotificationError) as info:
            decode_notification(payload, creds)
        text = str(info.value) + repr(info.value.__dict__)
        for secret in (DEMO_BLOWFISH, DEMO_HMAC, "another-16-bytes", "other-hmac", data[:32], fields["MAC"], "A" * 64):
            assert secret not in text


def test_identifiers_in_errors_are_sanitised(credentials: Credentials) -> None:
    fields = {**result_fields(PayID="<script>é" + "x" * 200), "MAC": "0" * 64}
    data, length = encrypt(encode_params(fields))
    err = reject(body(data, length), credentials, "mac")
    assert "<script>" not in str(err) and "é" not in str(err) and "x" * 65 not in str(err)


def test_rejections_are_logged_without_data(credentials: Credentials, caplog: pytest.LogCaptureFixture) -> None:
    raw = genuine_body()
    with caplog.at_level(logging.WARNING, logger="axepta.notify"):
        reject(raw, Credentials(DEMO_MID, DEMO_BLOWFISH, "wrong-hmac"), "mac")
    assert "notification rejected (mac)" in caplog.text
    assert raw.decode().split("Data=")[1][:32] not in caplog.text


# ---------------------------------------------------------------------------- the object


def test_codec_is_built_once_per_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    import axepta.credentials

    built: list[object] = []
    real = axepta.credentials.BlowfishCodec

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(axepta.credentials, "BlowfishCodec", counting)
    creds = Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)
    for _ in range(3):
        decode_notification(genuine_body(), creds)
    assert len(built) == 1


def test_notification_is_read_only_picklable_and_comparable(credentials: Credentials) -> None:
    note = decode_notification(genuine_body(), credentials)
    with pytest.raises(AttributeError, match="read-only"):
        note.code = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        del note.code  # type: ignore[misc]
    with pytest.raises(TypeError):
        note.raw["MAC"] = "x"  # type: ignore[index]
    copy = pickle.loads(pickle.dumps(note))
    assert copy == note and copy.raw == note.raw and copy.order_status == note.order_status
    assert note != decode_notification(genuine_body(Status="FAILED", Code="22150053"), credentials)
    assert note.__eq__(object()) is NotImplemented
    with pytest.raises(TypeError):
        hash(note)


def test_repr_and_as_dict(credentials: Credentials) -> None:
    import json

    note = decode_notification(genuine_body(), credentials)
    assert repr(note) == (
        f"Notification(pay_id='{PAY_ID}', trans_id='{TRANS_ID}', status='OK', code='00000000', state='completed')"
    )
    data = note.as_dict()
    json.dumps(data)
    assert data["succeeded"] is True and data["mc_gross"] == "12.34" and data["order_status"][1]["status"] == "FAILED"
    assert data["raw"]["NewField"] == "kept"
    assert "MAC" not in json.dumps(data)
    assert note.dedup_key == (PAY_ID, TRANS_ID, "OK", "00000000")


def test_keyword_constructor(credentials: Credentials) -> None:
    note = Notification(merchant_id="M", code="00000000", status="OK", raw={"a": "b"})
    assert note.succeeded and note.raw == {"a": "b"} and note.pay_id is None and note.order_status == ()
    with pytest.raises(TypeError, match="no field 'colour'"):
        Notification(colour="red")
    assert Notification.FIELDS[0] == "merchant_id" and "raw" in Notification.FIELDS
    assert isinstance(Notification.pay_id, axepta.notify._Field)
