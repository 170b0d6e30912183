"""Field checks of the request models (PROTOCOL.md §0.3, §4.0), declared next to each field.

Every request field is annotated with one :class:`Check` naming its wire key and its rule. The
base class runs the checks on the raw input *before* pydantic sees it, so a broken rule is always
an :class:`~axepta.errors.InvalidRequestError` naming the wire field and the rule, never a
pydantic ``ValidationError``; floats and bools given as amounts are refused, not coerced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)

from axepta.amounts import _ACCEPTED_CURRENCIES, MAX_AMOUNT, check_amount, check_currency
from axepta.errors import InvalidRequestError
from axepta.fields import check_format, check_url, format_checker, normalise_phone

__all__ = [
    "Amount",
    "Check",
    "Choice",
    "Currency",
    "Flag",
    "Nested",
    "Pairs",
    "Pattern",
    "Phone",
    "RequestModel",
    "Text",
    "Url",
    "wire_key",
]

# Free text is checked here for the rules every charset shares (no '&', no control characters);
# whether it is encodable in the merchant's charset is checked when the plaintext is encrypted,
# which also names the field (D4).
_MODEL_CHARSET = "utf-8"


@dataclass(frozen=True, slots=True)
class Check:
    """Base of the field checks: ``key`` is the wire name used in error messages."""

    key: str

    def __call__(self, value: object) -> Any:
        return value


@dataclass(frozen=True, slots=True)
class Text(Check):
    """A text field in the gateway's notation (``"ans..64"``, ``"an32"``, ``"ns..30"``)."""

    fmt: str = "ans..1024"
    allow_empty: bool = False

    def __call__(self, value: object) -> str:
        if self.allow_empty and value == "":
            return ""
        return check_format(self.key, value, self.fmt, charset=_MODEL_CHARSET)


@dataclass(frozen=True, slots=True)
class Amount(Check):
    """An amount in minor units: ``int`` only (floats and bools refused), 1..9 999 999 999.

    The minimum of 100 minor units (helpdesk approval) is the client's to enforce, since it
    depends on the client's ``small_amounts_enabled`` option."""

    minimum: int = 1

    def __call__(self, value: object) -> int:
        return check_amount(value, field=self.key, small_amounts_enabled=True, minimum=self.minimum)


@dataclass(frozen=True, slots=True)
class Currency(Check):
    """An upper-case ISO 4217 code the client knows."""

    def __call__(self, value: object) -> str:
        return check_currency(value, field=self.key)


@dataclass(frozen=True, slots=True)
class Url(Check):
    """A result URL: https (http only for loopback hosts), no query string, at most 256."""

    def __call__(self, value: object) -> str:
        return check_url(self.key, value)


@dataclass(frozen=True, slots=True)
class Phone(Check):
    """A phone number, normalised to 1..20 digits (``+`` becomes ``00``)."""

    def __call__(self, value: object) -> str:
        if not isinstance(value, str):
            raise InvalidRequestError(f"{self.key}: must be text", field=self.key, rule="n..20")
        return normalise_phone(self.key, value)


@dataclass(frozen=True, slots=True)
class Choice(Check):
    """One of ``choices``; input matched case-insensitively, returned as written in ``choices``."""

    choices: tuple[str, ...] = ()

    def __call__(self, value: object) -> str:
        if isinstance(value, str):
            if type(value) is str and value in self.choices:
                return value  # written as in choices (the usual case)
            for choice in self.choices:
                if value.lower() == choice.lower():
                    return choice
        raise InvalidRequestError(
            f"{self.key}: must be one of {', '.join(self.choices)}; found {value!r}",
            field=self.key,
            rule="one of " + "|".join(self.choices),
        )


@dataclass(frozen=True, slots=True)
class Pattern(Check):
    """Text matching a regular expression (``rule`` is how the error states it)."""

    pattern: str = ""
    rule: str = ""
    upper: bool = False

    def __call__(self, value: object) -> str:
        if not isinstance(value, str) or re.fullmatch(self.pattern, value) is None:
            raise InvalidRequestError(
                f"{self.key}: must match {self.rule}", field=self.key, rule=self.rule
            )
        return value.upper() if self.upper else value


@dataclass(frozen=True, slots=True)
class Nested(Check):
    """A nested model or a sequence of them, each given as the model or its keyword fields
    (then checked by the nested model itself); the key names the field in errors."""

    many: bool = False

    def __call__(self, value: object) -> object:
        if self.many and not isinstance(value, list | tuple):
            raise InvalidRequestError(
                f"{self.key}: expected a list or tuple, not {type(value).__name__}",
                field=self.key,
                rule="sequence",
            )
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if not isinstance(item, BaseModel | Mapping):
                raise InvalidRequestError(
                    f"{self.key}: expected a model or its keyword fields, not {type(item).__name__}",
                    field=self.key,
                    rule="mapping",
                )
        return value


@dataclass(frozen=True, slots=True)
class Pairs(Check):
    """A non-empty mapping of non-empty text keys to text values."""

    def __call__(self, value: object) -> dict[str, str]:
        if not isinstance(value, Mapping) or not value:
            raise InvalidRequestError(
                f"{self.key}: give at least one key/value pair", field=self.key, rule="non-empty mapping"
            )
        for key, item in value.items():
            if not isinstance(key, str) or not key or not isinstance(item, str):
                raise InvalidRequestError(
                    f"{self.key}: keys and values must be text (keys non-empty)",
                    field=self.key,
                    rule="text key/value pairs",
                )
        return dict(value)


@dataclass(frozen=True, slots=True)
class Flag(Check):
    """A yes/no option given as ``bool``."""

    def __call__(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise InvalidRequestError(
                f"{self.key}: must be True or False, not {type(value).__name__}",
                field=self.key,
                rule="bool",
            )
        return value


def _check_of(model: type[BaseModel], name: str) -> Check | None:
    for meta in model.model_fields[name].metadata:
        if isinstance(meta, Check):
            return meta
    return None


_Plan = tuple[dict[str, Check | None], tuple[str, ...], dict[str, Callable[[object], Any] | None]]
_PLANS: dict[type[BaseModel], _Plan] = {}


def _plan(model: type[BaseModel]) -> _Plan:
    """Per model, computed once: each field's check (or ``None``), the mandatory fields, and what
    runs each check (the check itself, or for text and URLs the same check with its format
    prepared: :func:`~axepta.fields.format_checker`, :func:`~axepta.fields.check_url`)."""
    plan = _PLANS.get(model)
    if plan is None:
        fields = model.model_fields
        checks = {name: _check_of(model, name) for name in fields}
        plan = (checks, tuple(n for n, i in fields.items() if i.is_required()), {n: _runner(c) for n, c in checks.items()})
        _PLANS[model] = plan
    return plan


def _runner(check: Check | None) -> Callable[[object], Any] | None:
    if type(check) is Text and not check.allow_empty:
        return format_checker(check.key, check.fmt, charset=_MODEL_CHARSET)
    if type(check) is Url:
        return _url_runner(check)
    if type(check) is Choice:
        return _choice_runner(check)
    if type(check) is Currency:
        return _currency_runner(check)
    if type(check) is Amount:
        return _amount_runner(check)
    return check


def _currency_runner(check: Currency) -> Callable[[object], str]:
    """``check`` with the codes it accepts looked up first (plain text only)."""

    def run(value: object) -> str:
        if type(value) is str and value in _ACCEPTED_CURRENCIES:
            return value
        return check(value)

    return run


def _amount_runner(check: Amount) -> Callable[[object], int]:
    """``check`` with a plain ``int`` in range returned at once."""
    low = check.minimum

    def run(value: object) -> int:
        if type(value) is int and low <= value <= MAX_AMOUNT:
            return value
        return check(value)

    return run


_MAX_KNOWN_URLS = 256


def _url_runner(check: Url) -> Callable[[object], str]:
    """``check`` with the URLs it accepted remembered (a shop sends the same few with every
    order; the check is a pure function of the text): at most 256, then checked each time."""
    known: dict[str, str] = {}
    key = check.key

    def run(value: object) -> str:
        if type(value) is str:
            hit = known.get(value)
            if hit is not None:
                return hit
            url = check_url(key, value)
            if len(known) < _MAX_KNOWN_URLS:
                known[value] = url
            return url
        return check_url(key, value)

    return run


def _choice_runner(check: Choice) -> Callable[[object], str]:
    """``check`` with its choices indexed: exact and case-insensitive matches of plain text are
    looked up; anything else (a refusal, a str subclass) is the check's own business."""
    exact = frozenset(check.choices)
    folded: dict[str, str] = {}
    for choice in check.choices:
        folded.setdefault(choice.lower(), choice)

    def run(value: object) -> str:
        if type(value) is str:
            if value in exact:
                return value
            hit = folded.get(value.lower())
            if hit is not None:
                return hit
        return check(value)

    return run


# the four slots of a pydantic model instance, set directly when a model is filled without
# pydantic (BaseModel.__setattr__ refuses on a frozen model); what object.__setattr__ does,
# without looking the slot up each time
_set_dict = vars(BaseModel)["__dict__"].__set__
_set_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_set_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_set_private = vars(BaseModel)["__pydantic_private__"].__set__

_MISSING: Any = object()  # a mandatory field's place in the defaults (always overwritten)
_IMMUTABLE_DEFAULTS = (type(None), str, int, bool, tuple, frozenset)


@dataclass(frozen=True, slots=True)
class _Direct:
    """How a request model is built from its checked fields without pydantic's second pass:
    every field in order with its default, the fields pydantic converts (nested models,
    mappings: an empty tuple needs no conversion) and the after-validators in pydantic's
    order."""

    defaults: dict[str, Any]
    converted: frozenset[str]
    after: tuple[Any, ...]


class _Checked(dict[str, Any]):
    """Keyword fields that went through the checks already (RequestModel.__init__)."""


_DIRECT: dict[type[BaseModel], _Direct | None] = {}
_UNSET: Any = object()
_PLAIN_TYPES = frozenset({str, int, bool})


def _direct(model: type[BaseModel]) -> _Direct | None:
    """Per model, computed once: how to build it directly, or ``None`` when it uses anything
    beyond field checks and argument-free after-validators (field validators, private
    attributes, ``model_post_init``, default factories, mutable defaults)."""
    if model in _DIRECT:
        return _DIRECT[model]
    plan: _Direct | None = None
    decorators = model.__pydantic_decorators__
    validators = list(decorators.model_validators.values())
    after = tuple(d.func for d in validators if d.info.mode == "after")
    simple = (
        not decorators.field_validators
        and not decorators.root_validators
        and not model.__private_attributes__
        and model.model_post_init is BaseModel.model_post_init
        and all(d.info.mode == "after" or d.cls_var_name == "_checked" for d in validators)
        and all(callable(f) and _positional_arity(f) == 1 for f in after)
    )
    fields = model.model_fields
    checks, _required, _runners = _plan(model)
    if simple and all(checks[name] is not None and info.default_factory is None for name, info in fields.items()):
        defaults = {name: _MISSING if info.is_required() else info.default for name, info in fields.items()}
        if all(isinstance(v, _IMMUTABLE_DEFAULTS) or v is _MISSING for v in defaults.values()):
            converted = frozenset(n for n, c in checks.items() if isinstance(c, Nested | Pairs))
            plan = _Direct(defaults, converted, after)
    _DIRECT[model] = plan
    return plan


def _positional_arity(func: Any) -> int:
    code = getattr(func, "__code__", None)
    return -1 if code is None else int(code.co_argcount)


def wire_key(model: type[BaseModel], name: str) -> str:
    """The wire name of field ``name`` (its check's key), or the field name itself."""
    check = _check_of(model, name)
    return check.key if check is not None else name


class RequestModel(BaseModel):
    """Base of every request model: frozen, unknown fields refused, all checks before typing.

    Any broken rule raises :class:`~axepta.errors.InvalidRequestError` with ``field`` set to the
    wire name (``TransID``, ``URLNotify`` …) and ``rule`` to the rule."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)

    def __init__(self, /, **data: Any) -> None:
        # The checks (run first, as in _checked) already hand over each value as the exact type
        # of its field: then the model is filled directly and its after-validators run, instead
        # of pydantic validating every field a second time. Anything that pydantic still has to
        # convert (nested models, mappings, values of a subclass type) takes the full path.
        cls = type(self)
        direct = _DIRECT.get(cls, _UNSET)
        if direct is _UNSET:
            direct = _direct(cls)
        if direct is None:
            super().__init__(**data)
            return
        values = cls._run_checks(data)
        for value in values.values():
            if type(value) not in _PLAIN_TYPES:
                if any(type(v) not in _PLAIN_TYPES and not (v == () and n in direct.converted) for n, v in values.items()):
                    # pydantic converts what the checks passed on (without checking it again)
                    self.__pydantic_validator__.validate_python(_Checked(values), self_instance=self)
                    return
                break
        fields = dict(direct.defaults)
        fields.update(values)
        _set_dict(self, fields)
        _set_fields_set(self, set(values))
        _set_extra(self, None)
        _set_private(self, None)
        for validator in direct.after:
            validator(self)

    @model_validator(mode="wrap")
    @classmethod
    def _checked(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        try:
            if not isinstance(data, BaseModel | _Checked):
                data = cls._run_checks(data)
            return handler(data)
        except ValidationError as exc:
            # A type pydantic refused (e.g. a str where a BasketLine belongs): same error kind.
            err = exc.errors(include_url=False)[0]
            loc = tuple(str(p) for p in err.get("loc") or ())
            if loc and loc[0] in cls.model_fields:
                key = wire_key(cls, loc[0])
            else:
                key = ".".join(loc) or cls.__name__
            raise InvalidRequestError(
                f"{key}: {err.get('msg', 'invalid value')}", field=key, rule=str(err.get("type", "type"))
            ) from None

    @classmethod
    def _run_checks(cls, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise InvalidRequestError(
                f"{cls.__name__}: expected keyword fields, not {type(data).__name__}",
                field=cls.__name__,
                rule="mapping",
            )
        _checks, required, runners = _plan(cls)
        out: dict[str, Any] = {}
        for name, value in data.items():
            check = runners.get(name, _UNSET)
            if check is _UNSET:
                raise InvalidRequestError(
                    f"{cls.__name__}: unknown field {name!r}", field=str(name), rule="unknown field"
                )
            if value is None:
                continue
            out[name] = check(value) if check is not None else value
        for name in required:
            if name not in out:
                key = wire_key(cls, name)
                raise InvalidRequestError(
                    f"{key}: is mandatory for {cls.__name__}", field=key, rule="mandatory"
                )
        return out
