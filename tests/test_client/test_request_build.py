"""Request models are filled directly from their checked fields (issue 14 item 2): the result,
or the error, is exactly what pydantic's full validation gives, for every request model."""

from __future__ import annotations

from typing import Any

import pytest

from axepta.errors import InvalidRequestError
from axepta.models import (
    Address,
    AuthorizeRequest,
    BasketLine,
    CaptureRequest,
    CompleteRequest,
    CreditExRequest,
    CreditRequest,
    OrderItem,
    PaymentUnit,
    PayPalOrderRequest,
    ReferenceTransactionRequest,
    ReverseRequest,
)
from axepta.models._checks import RequestModel
from axepta.models.inquiry import Inquire24Request, InquireRequest
from tests.test_client._support import PAY_ID
from tests.test_client.test_validation import FOLLOW_UP_CASES, ORDER, ORDER_CASES, US_ADDRESS

BASE: dict[str, Any] = {"trans_id": "T-1", "amount": 1000, "currency": "EUR"}
ITEM = {"name": "a", "quantity": 2, "unit_amount": 500, "category": "physical_goods"}

VALID: list[tuple[type[Any], dict[str, Any]]] = [
    (PayPalOrderRequest, dict(ORDER)),
    (PayPalOrderRequest, {**ORDER, "capture": "manual", "tx_type": "auth", "language": "fr", "ref_nr": "000123",
                          "user_data": "cart=42", "req_id": "abc123", "no_shipping": True, "account": "Café"}),
    (PayPalOrderRequest, {**ORDER, "address": {"first_name": "Jane", "phone": "+33 1 23", "country_code": "fr"}}),
    (PayPalOrderRequest, {**ORDER, "address": US_ADDRESS, "basket": [], "payment_units": ()}),
    (PayPalOrderRequest, {**ORDER, "amount": 2000, "basket": [{"name": "Pen", "amount": 1000, "number": "P1",
                                                               "quantity": 2}]}),
    (PayPalOrderRequest, {**ORDER, "risk_evaluation": {"k": "v"}, "mode": "redirect", "paypal_method": "shortcut"}),
    (PayPalOrderRequest, {**ORDER, "amount": 1000, "payment_units": [{"merchant_id": "X1", "items": [ITEM]}]}),
    (PayPalOrderRequest, {**ORDER, "capture": "Manual", "tx_type": "BAID", "ref_nr": "BA1"} | {"capture": "Auto"}),
    (CaptureRequest, {**BASE, "pay_id": PAY_ID, "complete": True, "ref_nr": "r1", "tid": "T1", "req_id": "R1"}),
    (CreditRequest, {**BASE, "pay_id": PAY_ID, "note": "n\u0065\u0301"}),  # NFC-normalised
    (CreditExRequest, {**BASE, "payer": "a@b.example", "note": "n", "subject": "s"}),
    (CreditExRequest, {**BASE, "payer_id": "P1"}),
    (ReverseRequest, {**BASE, "pay_id": PAY_ID}),
    (AuthorizeRequest, {**BASE, "pay_id": PAY_ID, "address": {"city": "Paris"}}),
    (CompleteRequest, {**BASE, "pay_id": PAY_ID, "address": Address(first_name="J", last_name="D", street="S",
                                                                      city="C", zip="Z", country_code="DE")}),
    (ReferenceTransactionRequest, {**BASE, "billing_agreement_id": "B-5YM15616XX0983012", "order_desc": "d"}),
    (Address, {"first_name": "Jane", "phone": "(01) 23-45", "country_code": "us", "state": "CA"}),
    (BasketLine, {"name": "Pen", "amount": 0, "number": "P1", "quantity": 1, "description": ""}),
    (OrderItem, ITEM),
    (PaymentUnit, {"merchant_email": "s@x.example", "amount": 100}),
    (PaymentUnit, {"merchant_id": "X1", "items": [ITEM]}),
    (InquireRequest, {"pay_id": PAY_ID, "trans_id": "T-1"}),
    (Inquire24Request, {"trans_id": "T-1"}),
]  # fmt: skip

INVALID: list[tuple[type[Any], dict[str, Any]]] = [(PayPalOrderRequest, kwargs) for kwargs, _f, _r in ORDER_CASES] + [
    (model, {k: v for k, v in {**BASE, **changes}.items() if v is not None}) for model, changes, _f, _r in FOLLOW_UP_CASES
] + [(Address, {"country_code": "US", "state": "California"}), (BasketLine, {"name": "a,b", "amount": 1, "number": "1",
                                                                             "quantity": 1})]  # fmt: skip


def _full_validation(model: type[RequestModel], kwargs: dict[str, Any]) -> Any:
    """What ``BaseModel.__init__`` does: pydantic's validator into a new instance."""
    instance = model.__new__(model)
    model.__pydantic_validator__.validate_python(kwargs, self_instance=instance)
    return instance


def _judged(check: Any, value: object) -> Any:
    try:
        result = check(value)
    except InvalidRequestError as exc:
        return (str(exc), exc.field, exc.rule)
    return (result, type(result))


def _outcome(build: Any) -> Any:
    try:
        return build()
    except InvalidRequestError as exc:
        return (str(exc), exc.field, exc.rule)


@pytest.mark.parametrize(("model", "kwargs"), VALID + INVALID)
def test_direct_build_equals_full_validation(model: type[RequestModel], kwargs: dict[str, Any]) -> None:
    fast = _outcome(lambda: model(**kwargs))
    slow = _outcome(lambda: _full_validation(model, kwargs))
    assert type(fast) is type(slow)
    assert fast == slow
    if isinstance(fast, RequestModel):
        assert fast.model_fields_set == slow.model_fields_set
        assert fast.model_dump() == slow.model_dump()
        assert list(fast.__dict__) == list(slow.__dict__)
        assert {k: type(v) for k, v in fast.__dict__.items()} == {k: type(v) for k, v in slow.__dict__.items()}
        assert fast.__pydantic_extra__ == slow.__pydantic_extra__ and fast.__pydantic_private__ == slow.__pydantic_private__
        with pytest.raises(Exception, match="frozen"):
            fast.currency = "USD"  # type: ignore[attr-defined]


def test_valid_cases_are_valid() -> None:
    for model, kwargs in VALID:
        assert isinstance(model(**kwargs), model)


def test_a_value_of_a_subclass_type_goes_through_pydantic() -> None:
    class Code(str):
        pass

    request = CaptureRequest(**BASE, pay_id=PAY_ID, ref_nr=Code("r1"))
    assert request == _full_validation(CaptureRequest, {**BASE, "pay_id": PAY_ID, "ref_nr": Code("r1")})
    assert request.model_validate(request) is request


def test_every_request_model_is_built_directly() -> None:
    from axepta.models._checks import _direct

    for model, _kwargs in VALID:
        assert _direct(model) is not None, model


def test_prepared_runners_judge_as_the_checks() -> None:
    """What runs each field's check (text and URL checks prepared, choices indexed) accepts,
    normalises and refuses exactly as the check itself."""
    from axepta.models._checks import _plan

    class Upper(str):
        pass

    values: list[object] = ["fr", "FR", "Fr", "auto", "Manual", "BAID", "x", "", Upper("fr"), 1, None, "shortcut",
                            "https://shop.example/a", "http://shop.example/a", "T-1", "a&b", "é", "x" * 300, "EUR", "eur", "CLF", "XYZ", Upper("EUR"), 0, 12345, 10**10, True, 1.5,
                            "https://shop.example/a", Upper("https://shop.example/a")]  # fmt: skip
    for model in (PayPalOrderRequest, OrderItem, CaptureRequest, InquireRequest, BasketLine, PaymentUnit):
        checks, _required, runners = _plan(model)
        for name, check in checks.items():
            runner = runners[name]
            if check is None or runner is None:
                continue
            for value in values:
                assert _judged(runner, value) == _judged(check, value), (name, value)
