"""Results are built from a per-class plan without a second validation pass (issue 14 item 2):
the fast path gives exactly what full pydantic validation gives, for every result class."""

from __future__ import annotations

import base64
import json

import pytest

from axepta.crypto import parse_params
from axepta.models import CreditResult, PaymentResult, PayPalOrderResult, ResultFields
from axepta.models.results import Result

UNIT = base64.b64encode(json.dumps({"status": "COMPLETED", "id": "7TS4", "invoiceid": "I-1"}).encode()).decode()
MESSAGE = (
    "MID=M1&payid=0123456789abcdef0123456789abcdef&XID= x1 &TransID=T-1&Status=OK&Code=00000000&Description=  &"
    "CodeExt=&refnr=R1&tid=3C6&OrderID=9XK&E-MAIL=a@b.example&BillingName=Jane&PayerID=P1&UserData=u=1&"
    "GrossRefundAmount=1000&NetRefundAmount=10.00&FeeRefundAmount= 35 &orderid=5O19&PayPalURL=https://www.paypal.com/x&"
    f"AddrZIP=75002&payerStatus=verified&mc_gross=12.34&OrderStatus1={UNIT}&OrderStatus2=bad&Unknown=kept&MAC=00"
)


@pytest.mark.parametrize("cls", [Result, PaymentResult, CreditResult, PayPalOrderResult, ResultFields])
def test_fast_path_equals_full_validation(cls: type[Result]) -> None:
    params = parse_params(MESSAGE)
    fast = cls.from_params(params, operation="capture", req_id="r1")
    # a non-text keyword sends the same input through pydantic's full validation
    slow = cls.from_params(params, operation="capture", req_id="r1", raw=dict(fast.raw))
    assert fast == slow and fast.model_dump() == slow.model_dump()
    assert fast.pay_id == "0123456789abcdef0123456789abcdef" and fast.xid == "x1" and fast.description is None
    assert fast.code_ext is None and fast.mid == "M1" and "MAC" not in fast.raw and fast.raw["Unknown"] == "kept"
    assert (fast.operation, fast.req_id) == ("capture", "r1")
    with pytest.raises(Exception, match="frozen"):
        fast.code = "x"  # type: ignore[misc]


def test_amounts_and_blank_extras() -> None:
    result = CreditResult.from_params(parse_params(MESSAGE), operation=" ", req_id=None)
    assert (result.gross_refund_amount, result.net_refund_amount, result.fee_refund_amount) == (1000, None, 35)
    assert result.operation is None and result.req_id is None
    fields = ResultFields.from_params(parse_params(MESSAGE))
    assert [s.capture_id for s in fields.order_status] == ["7TS4", None]
    assert fields.addr_zip == "75002" and fields.payer_status == "verified" and fields.mc_gross == "12.34"


@pytest.mark.parametrize(
    ("message", "email"),
    [
        ("Email=c@d.example&E-Mail=a@b.example", "a@b.example"),  # the preferred key wins, wherever it is
        ("EMail=b@c.example&Email=c@d.example", "b@c.example"),
        ("Email=c@d.example&E-Mail=  ", None),  # the preferred key present but blank: no value
        ("email=%20x", "%20x"),
    ],
)
def test_a_field_with_several_keys_takes_the_first_present(message: str, email: str | None) -> None:
    for cls in (PaymentResult, ResultFields):
        result = cls.from_params(parse_params(message))
        assert result.email == email
        assert result == cls.from_params(parse_params(message), raw=dict(result.raw))  # full validation agrees


@pytest.mark.parametrize("cls", [Result, PaymentResult, CreditResult, PayPalOrderResult, ResultFields])
@pytest.mark.parametrize("req_id", [None, "r1", " r1 ", ""])
def test_the_cores_build_equals_from_params(cls: type[Result], req_id: str | None) -> None:
    """The protocol core's own build (its operation name and ReqId known to be text) gives what
    from_params gives."""
    params = parse_params(MESSAGE)
    core = cls._from_reply(params, "capture", req_id)
    public = cls.from_params(params, operation="capture", req_id=req_id)
    assert core == public and core.model_fields_set == public.model_fields_set
    assert core.model_dump() == public.model_dump() and core.req_id == (req_id.strip() or None if req_id else None)
