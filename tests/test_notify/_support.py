"""Genuine notifications built with the crypto core (BlowfishCodec + sign), as the platform
would send them, and their parts for tampering."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

from Crypto.Cipher import Blowfish

from axepta.credentials import Credentials
from axepta.crypto import BlowfishCodec, encode_params, sign
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID

PAY_ID = "7bbb448155234d8cbee323778952ce28"
XID = "1d6b7d79e40644129472aea52b499226"
TRANS_ID = "TX-2024-0001"


def order_status(status: str, capture_id: str, invoice: str) -> str:
    return base64.b64encode(json.dumps({"status": status, "id": capture_id, "invoiceid": invoice}).encode()).decode()


def result_fields(**overrides: str | None) -> dict[str, str]:
    """Every result parameter of PROTOCOL.md §4.7 with realistic values (a SALE with a
    delivery and a billing address, a billing agreement and two marketplace units), plus a key
    the client does not know. ``None`` in ``overrides`` removes a key."""
    fields: dict[str, str | None] = {
        "mid": DEMO_MID,
        "PayID": PAY_ID,
        "XID": XID,
        "TransID": TRANS_ID,
        "Status": "OK",
        "Description": "success",
        "Code": "00000000",
        "RefNr": "INV-0001",
        "UserData": "cart=42;lang=fr",
        "CodeExt": "0",
        "Name": "Jean Dupont",
        "FirstName": "Jean",
        "LastName": "Dupont",
        "E-Mail": "jean.dupont@example.com",
        "AddrStreet": "1 rue de la Paix",
        "AddrStreet2": "Bâtiment B",
        "AddrCity": "Paris",
        "AddrState": "IDF",
        "AddrZip": "07500",
        "AddrCountryCode": "FR",
        "Phone": "+33 1 23 45 67 89",
        "BillingAgreementID": "B-5YM40429LR0584042",
        "BillingName": "Jean Dupont",
        "BillingAddrStreet": "2 avenue Foch",
        "BillingAddrStreet2": "",
        "BillingAddrCity": "Lyon",
        "BillingAddrState": "ARA",
        "BillingAddrZIP": "69006",
        "BillingAddrCountryCode": "FR",
        "payerStatus": "verified",
        "InfoText": "Thank you",
        "PayerID": "LPLWNMTBWMFAY",
        "GrossAmount": "12.34",
        "FeeAmount": "0.63",
        "SettleAmount": "11.71",
        "TaxAmount": "2.06",
        "ExchangeRate": "1.0",
        "mc_fee": "0.63",
        "mc_gross": "12.34",
        "OrderStatus1": order_status("COMPLETED", "7TS45464Y1234567A", "INV-1-A"),
        "OrderStatus2": order_status("FAILED", "na", "INV-1-B"),
        "TID": "8AB12345CD6789012",
        "TransactionID": "5O190127TN364715T",
        "NewField": "kept",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def with_mac(fields: Mapping[str, str], hmac_key: str = DEMO_HMAC, mid: str = DEMO_MID) -> dict[str, str]:
    """``fields`` plus the MAC the platform computes: PayID*TransID*MerchantID*Status*Code."""
    out = dict(fields)
    out["MAC"] = sign(
        hmac_key.encode(), fields.get("PayID", ""), fields.get("TransID", ""), mid, fields.get("Status", ""),
        fields.get("Code", ""),
    )
    return out


def encrypt(plaintext: str, key: str = DEMO_BLOWFISH, charset: str = "iso-8859-1") -> tuple[str, int]:
    enc = BlowfishCodec(key, charset).encrypt(plaintext)
    return enc.data, enc.length


def encrypt_padded(plaintext: bytes, pad: bytes, key: str = DEMO_BLOWFISH) -> str:
    """Encrypt with another padding (spaces, PKCS#7) the way the bank or other peers pad."""
    n = -len(plaintext) % 8
    if pad == b"pkcs7":
        n = n or 8
        padded = plaintext + bytes([n]) * n
    else:
        padded = plaintext + pad * n
    return Blowfish.new(key.encode(), Blowfish.MODE_ECB).encrypt(padded).hex().upper()


def body(data: str, length: int | None, *, clear: str = f"MerchantID={DEMO_MID}") -> bytes:
    """The form body the platform posts: ``MerchantID=…&Len=…&Data=…`` (ISO-8859-1)."""
    parts = [clear] if clear else []
    if length is not None:
        parts.append(f"Len={length}")
    parts.append(f"Data={data}")
    return "&".join(parts).encode("iso-8859-1")


def genuine_body(creds: Credentials | None = None, **overrides: str | None) -> bytes:
    """A genuine notification body for the demo merchant (or ``creds``)."""
    if creds is None:
        plaintext = encode_params(with_mac(result_fields(**overrides)))
        data, length = encrypt(plaintext)
        return body(data, length)
    fields = result_fields(mid=creds.merchant_id, **overrides)
    plaintext = encode_params(with_mac(fields, creds.hmac_key.get_secret_value(), creds.merchant_id))
    enc = creds.codec.encrypt(plaintext)
    return body(enc.data, enc.length, clear=f"MerchantID={quote(creds.merchant_id)}")


DOCS = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"


def doc_module(name: str) -> ModuleType:
    """The Python block of docs/notifications.md whose first line is ``# <name>``, executed as a
    module: the documented handlers are the tested ones."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text("utf-8"), re.DOTALL)
    (source,) = [b for b in blocks if b.startswith(f"# {name}\n")]
    module = ModuleType(name.removesuffix(".py"))
    exec(compile(source, f"docs/notifications.md:{name}", "exec"), module.__dict__)  # noqa: S102
    return module
