"""Encrypt + sign of a realistic PayPal order plaintext: ours vs the floor vs a naive version.

(a) ours:  BlowfishCodec.encrypt + axepta.crypto.sign through the public API;
(b) floor: a pre-built pycryptodome ECB object on pre-padded bytes + stdlib hmac;
(c) naive: a new cipher per call and pycryptodome's HMAC, as typical integrations do.

Run: .venv/bin/python benchmarks/bench_crypto.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
from pathlib import Path

from _timing import rate
from Crypto.Cipher import Blowfish
from Crypto.Hash import HMAC, SHA256

from axepta.crypto import BlowfishCodec, sign

ROOT = Path(__file__).resolve().parent.parent


def _vector() -> dict[str, str]:
    data = json.loads((ROOT / "vectors" / "vendor_sample.json").read_text("utf-8"))
    return next(v for v in data["vectors"] if v["case"] == "paypal_request_realistic")




def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    v = _vector()
    key, hkey, plaintext = v["blowfish_key"], v["hmac_key"], v["plaintext"]
    fields = v["mac_message"].split("*")
    codec = BlowfishCodec(key, "utf-8")

    def ours() -> object:
        return codec.encrypt(plaintext), sign(hkey, *fields)

    raw = plaintext.encode("utf-8")
    padded = raw + b"\x00" * (-len(raw) % 8)
    ecb = Blowfish.new(key.encode(), Blowfish.MODE_ECB)
    hkey_b = hkey.encode()
    msg = v["mac_message"].encode()

    def floor() -> object:
        return ecb.encrypt(padded).hex(), hmac.digest(hkey_b, msg, hashlib.sha256).hex()

    def naive() -> object:
        data = raw + b"\x00" * (-len(raw) % 8)
        cipher = Blowfish.new(key.encode(), Blowfish.MODE_ECB)
        return cipher.encrypt(data).hex().upper(), HMAC.new(hkey_b, msg, SHA256).hexdigest().upper()

    assert ours()[0].data == floor()[0].upper() == naive()[0]  # type: ignore[index,attr-defined]
    results = {}
    for name, fn in (("floor", floor), ("ours", ours), ("naive", naive)):
        rate(fn, 0.2)  # warm-up
        results[name] = rate(fn, args.seconds)
    print(f"plaintext: {len(plaintext)} characters (vendor_sample.json paypal_request_realistic)")
    for name in ("floor", "ours", "naive"):
        print(f"  {name:6s} {results[name]:>12,.0f} ops/s")
    print(f"ours/floor slowdown: {results['floor'] / results['ours']:.2f}x (goal <= 2x)")
    print(f"ours vs naive speed-up: {results['ours'] / results['naive']:.2f}x (goal >= 3x)")
    return results


if __name__ == "__main__":
    main()
