"""The simulator's rejection codes: status ``2`` + module + detail, laid out as in
``axepta/data/response_codes.json`` (PROTOCOL.md D12).

Parameter problems use the parameter modules (``010`` missing, ``011`` format, ``012`` invalid
value, ``013`` too short, ``014`` too long) and the detail of the parameter; refusals of the
payment itself use module ``150`` (PayPal).
"""

from __future__ import annotations

from typing import Final

from axepta.codes import SUCCESS, explain

__all__ = [
    "ALREADY_AUTHORIZED",
    "ALREADY_CAPTURED",
    "ALREADY_REVERSED",
    "BILLING_AGREEMENT_INVALID",
    "CANCELLED_BY_USER",
    "CAPTURE_ACTIVE",
    "DATA_INVALID",
    "DETAILS",
    "FORMAT",
    "FULLY_REFUNDED",
    "INQUIRY_UNAVAILABLE",
    "INVALID",
    "MAC_INVALID",
    "MAC_MISSING",
    "MISSING",
    "NOTHING_AUTHORIZED",
    "NOTHING_CAPTURED",
    "NOTHING_TO_REVERSE",
    "NOT_ALLOWED",
    "NOT_FOUND",
    "OVERCAPTURE",
    "PAYPAL_METHOD",
    "REFUND_TOO_HIGH",
    "SUCCESS",
    "TID_UNKNOWN",
    "TOO_LONG",
    "TOO_SHORT",
    "describe",
    "parameter_code",
]

MISSING: Final = "010"
FORMAT: Final = "011"
INVALID: Final = "012"
TOO_SHORT: Final = "013"
TOO_LONG: Final = "014"
_PAYPAL: Final = "150"
_MERCHANT: Final = "050"

#: Detail of each request parameter in the dictionary (``0000`` "Unspecified" when it has none).
DETAILS: Final[dict[str, str]] = {
    "PayID": "0001",
    "TransID": "0002",
    "MerchantID": "0003",
    "ReqId": "0004",
    "Amount": "0005",
    "Currency": "0006",
    "Data": "0007",
    "Len": "0008",
    "Capture": "0009",
    "Response": "0010",
    "OrderDesc": "0011",
    "OrderDescN": "0012",
    "URLSuccess": "0020",
    "URLFailure": "0021",
    "URLNotify": "0022",
    "RefNr": "0032",
    "FirstName": "0037",
    "MAC": "0044",
    "Account": "0059",
    "ItemTotal": "0116",
    "TaxTotal": "002D",
    "AddrState": "0970",
    "AddrStreet": "0971",
    "AddrCountryCode": "0973",
    "AddrZip": "0974",
    "AddrCity": "0975",
    "LastName": "0976",
    "PayerID": "0980",
    "TxType": "0981",
    "BillingAgreementID": "0986",
    "PayPalMethod": "0987",
    "TID": "0988",
    "UserData": "1283",
    "AddrStreet2": "1341",
    "Payer": "1363",
    "Phone": "1364",
    "Language": "1365",
    "ShAmount": "1385",
    "Note": "1387",
    "NoShipping": "1869",
}


def _paypal(detail: str) -> str:
    return "2" + _PAYPAL + detail


def parameter_code(module: str, field: str) -> str:
    """``2`` + ``module`` + the detail of ``field`` (``OrderDesc2``… share ``OrderDescN``)."""
    key = "OrderDescN" if field.startswith("OrderDesc") and field[9:].isdigit() else field
    return "2" + module + DETAILS.get(key, "0000")


MAC_MISSING: Final = parameter_code(MISSING, "MAC")  # 20100044
MAC_INVALID: Final = parameter_code(INVALID, "MAC")  # 20120044
DATA_INVALID: Final = "2001" + DETAILS["Data"]  # module 001: crypto
NOT_FOUND: Final = _paypal("0061")
NOT_ALLOWED: Final = _paypal("0063")
CAPTURE_ACTIVE: Final = _paypal("0065")
OVERCAPTURE: Final = _paypal("0067")
ALREADY_AUTHORIZED: Final = _paypal("0068")
NOTHING_CAPTURED: Final = _paypal("0069")
ALREADY_CAPTURED: Final = _paypal("0072")
NOTHING_AUTHORIZED: Final = _paypal("0075")
CANCELLED_BY_USER: Final = _paypal("0053")
REFUND_TOO_HIGH: Final = _paypal("0957")
FULLY_REFUNDED: Final = _paypal("0958")
BILLING_AGREEMENT_INVALID: Final = _paypal("0986")
PAYPAL_METHOD: Final = _paypal("0987")
TID_UNKNOWN: Final = _paypal("0988")
ALREADY_REVERSED: Final = _paypal("1519")
NOTHING_TO_REVERSE: Final = _paypal("1815")
#: a merchant whose status inquiries are switched off: "merchant / Action not supported"
INQUIRY_UNAVAILABLE: Final = "2" + _MERCHANT + "0081"


def describe(code: str, detail: str | None = None) -> str:
    """The ``Description`` of a reply: the dictionary's words for ``code`` (never an ``&``)."""
    if code == SUCCESS:
        text = "success"
    else:
        info = explain(code)
        text = f"{info.module_text}: {info.detail_text}"
    if detail:
        text = f"{text} ({detail})"
    return text.replace("&", "and")
