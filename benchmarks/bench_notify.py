"""Notifications decoded and verified per second: ours vs the floor, in the same run.

(a) ours:  axepta.decode_notification on the raw form body (size cap, form decoding, Blowfish
           decrypt with every D7 check, D2 parse, MID check, MAC check, typed Notification),
           then what a listener reads to record it (succeeded, trans_id, pay_id, tid,
           transaction_id, dedup_key); fields are converted on first read, so the same run also
           shows the cost of reading every field (as_dict);
(b) floor: the least any correct listener must do with the same body: a pre-built pycryptodome
           ECB object on the hex Data, zero padding stripped, the plaintext split on & and =,
           stdlib hmac over PayID*TransID*MerchantID*Status*Code, constant-time comparison.

The message is a realistic PayPal result of PROTOCOL.md §4.7 (payer, delivery and billing
addresses, PayPal ids, amounts, two marketplace units), built with the crypto core and the demo
keys. Goal: ours at most 3x the floor's time.

Run: .venv/bin/python benchmarks/bench_notify.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json

from _timing import rate
from Crypto.Cipher import Blowfish

from axepta import Credentials, decode_notification
from axepta.crypto import encode_params, sign

MID = "BNP_DEMO_AXEPTA"
BLOWFISH = "Tc5*2D_xs7B[6E?w"
HMAC_KEY = "4n!BmF3_?9oJ2Q*z(iD7q6[RSb5)a]A8"


def _unit(status: str, capture_id: str, invoice: str) -> str:
    return base64.b64encode(json.dumps({"status": status, "id": capture_id, "invoiceid": invoice}).encode()).decode()


def notification_body() -> tuple[bytes, str]:
    fields = {
        "mid": MID, "PayID": "7bbb448155234d8cbee323778952ce28", "XID": "1d6b7d79e40644129472aea52b499226",
        "TransID": "order-2024-000123", "Status": "OK", "Description": "success", "Code": "00000000",
        "RefNr": "INV-0001", "UserData": "cart=42;lang=fr", "Name": "Jean Dupont", "FirstName": "Jean",
        "LastName": "Dupont", "E-Mail": "jean.dupont@example.com", "AddrStreet": "1 rue de la Paix",
        "AddrStreet2": "Bâtiment B", "AddrCity": "Paris", "AddrState": "IDF", "AddrZip": "75002",
        "AddrCountryCode": "FR", "Phone": "+33 1 23 45 67 89", "BillingName": "Jean Dupont",
        "BillingAddrStreet": "2 avenue Foch", "BillingAddrCity": "Lyon", "BillingAddrZIP": "69006",
        "BillingAddrCountryCode": "FR", "payerStatus": "verified", "PayerID": "LPLWNMTBWMFAY",
        "InfoText": "", "GrossAmount": "12.34", "FeeAmount": "0.63", "TID": "8AB12345CD6789012",
        "TransactionID": "5O190127TN364715T", "OrderStatus1": _unit("COMPLETED", "7TS45464Y1234567A", "INV-1-A"),
        "OrderStatus2": _unit("COMPLETED", "9UV56575Z2345678B", "INV-1-B"),
    }
    fields["MAC"] = sign(HMAC_KEY, fields["PayID"], fields["TransID"], MID, fields["Status"], fields["Code"])
    plaintext = encode_params(fields)
    enc = Credentials(MID, BLOWFISH, HMAC_KEY).codec.encrypt(plaintext)
    return f"MerchantID={MID}&Len={enc.length}&Data={enc.data}".encode("ascii"), plaintext




def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    body, plaintext = notification_body()
    credentials = Credentials(MID, BLOWFISH, HMAC_KEY)

    def ours() -> bool:
        # what a listener reads to record the result (§7.3, §7.4)
        n = decode_notification(body, credentials)
        return bool(n.succeeded and n.trans_id and n.pay_id and n.tid and n.transaction_id and n.dedup_key)

    def ours_all() -> bool:
        return bool(decode_notification(body, credentials).as_dict())  # every field, converted

    data = body.decode("ascii").rsplit("Data=", 1)[1]
    ecb = Blowfish.new(BLOWFISH.encode(), Blowfish.MODE_ECB)
    hkey = HMAC_KEY.encode()

    def floor() -> bool:
        text = ecb.decrypt(bytes.fromhex(data)).rstrip(b"\x00").decode("iso-8859-1")
        f = dict(part.split("=", 1) for part in text.split("&"))
        message = f"{f['PayID']}*{f['TransID']}*{MID}*{f['Status']}*{f['Code']}".encode()
        mac = hmac.digest(hkey, message, hashlib.sha256).hex().upper()
        return hmac.compare_digest(mac, f["MAC"]) and f["Code"] == "00000000"

    assert ours() and ours_all() and floor()
    results = {}
    for name, fn in (("floor", floor), ("ours", ours), ("ours_all", ours_all)):
        rate(fn, 0.2)  # warm-up
        results[name] = rate(fn, args.seconds)
    ratio = results["floor"] / results["ours"]
    print(f"notification: {len(body)} bytes, plaintext {len(plaintext)} characters, {plaintext.count('&') + 1} fields")
    labels = {
        "floor": "floor (decrypt + split + HMAC)",
        "ours": "ours (decode, verify, read the ids)",
        "ours_all": "ours + every field converted (as_dict)",
    }
    for name, label in labels.items():
        print(f"  {label:40s} {results[name]:>9,.0f} notifications/s  ({1e6 / results[name]:.1f} µs each)")
    print(f"ours/floor slowdown: {ratio:.2f}x (goal <= 3x)")
    print(f"with every field converted: {results['floor'] / results['ours_all']:.2f}x")
    results["ratio"] = ratio
    return results


if __name__ == "__main__":
    main()
