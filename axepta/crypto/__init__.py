"""The gateway's crypto core: Blowfish-ECB ``Data``/``Len``, HMAC-SHA256 ``MAC`` and the
``Key=Value&…`` plaintexts.

It depends on pycryptodome and the standard library only (a test fences this). Blowfish is kept
for gateway compatibility only; see :mod:`axepta.crypto.codec`.
"""

from axepta.crypto.codec import DEFAULT_MAX_DATA_LENGTH, BlowfishCodec, Encrypted
from axepta.crypto.mac import mac_message, sign, verify
from axepta.crypto.params import CRITICAL_KEYS, Params, encode_params, parse_params

__all__ = [
    "BlowfishCodec",
    "CRITICAL_KEYS",
    "DEFAULT_MAX_DATA_LENGTH",
    "Encrypted",
    "Params",
    "encode_params",
    "mac_message",
    "parse_params",
    "sign",
    "verify",
]
