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


# Block splicing (D14): genuine results whose segments fill whole Blowfish-ECB blocks.

ORDER_A = {"PayID": PAY_ID, "TransID": "ORDER-A", "Status": "OK", "Code": "00000000"}
ORDER_B = {"PayID": "c0ffee00c0ffee00c0ffee00c0ffee00", "TransID": "ORDER-B", "Status": "FAILED", "Code": "21500053"}
XID_A = "1d6b7d79e40644129472aea52b499226"
XID_B = "99999999999999999999999999999999"


def aligned(head: str, *segments: str) -> tuple[str, list[tuple[int, int]]]:
    """``head`` and each ``&…`` segment padded (with ``&P<n>=x…``) to end on a block boundary, and
    the block ranges each segment occupies."""
    out = ""
    ranges = []
    for n, part in enumerate((head, *segments)):
        start = len(out) // 8
        out += part
        gap = -len(out) % 8
        if gap:
            out += f"&P{n}=" + "x" * ((gap - 4) % 8)  # 4 + k characters; k >= 0 closes the block
            out += "x" * (-len(out) % 8)
        ranges.append((start, len(out) // 8))
    return out, ranges[1:]


def block_result(
    order: Mapping[str, str], xid: str, ref_nr: str, user_data: str, *extra: str
) -> tuple[list[str], list[tuple[int, int]]]:
    """A genuine result for ``order`` whose ``&XID=…``, ``&RefNr=…&UserData=…`` and ``extra``
    segments each fill whole Blowfish blocks: its hex blocks, and each segment's block range."""
    head = encode_params({"mid": DEMO_MID, **with_mac(order)})
    text, ranges = aligned(head, f"&XID={xid}", f"&RefNr={ref_nr}&UserData={user_data}", *extra)
    data, _ = encrypt(text)
    return blocks(data), ranges


def blocks(hex_data: str) -> list[str]:
    return [hex_data[i : i + 16] for i in range(0, len(hex_data), 16)]


def post_blocks(hex_blocks: list[str]) -> bytes:
    """A notification body carrying these blocks as ``Data`` (``Len`` is in clear: whoever splices
    sets it)."""
    return body("".join(hex_blocks), len(hex_blocks) * 8)


DOCS = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"


def doc_module(name: str) -> ModuleType:
    """The Python block of docs/notifications.md whose first line is ``# <name>``, executed as a
    module: the documented handlers are the tested ones."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text("utf-8"), re.DOTALL)
    (source,) = [b for b in blocks if b.startswith(f"# {name}\n")]
    module = ModuleType(name.removesuffix(".py"))
    # dont_inherit: the block runs as its own module would (no `from __future__` of this file)
    exec(compile(source, f"docs/notifications.md:{name}", "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    return module
