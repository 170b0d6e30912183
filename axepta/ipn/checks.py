"""The checks after ``VERIFIED`` (PROTOCOL.md §9.4): receiver, environment, amount, currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from axepta.errors import ConfigurationError
from axepta.ipn.message import IpnMessage
from axepta.ipn.values import TxnType

Check = Literal["receiver", "environment", "amount", "currency"]


@dataclass(frozen=True, slots=True)
class IpnProblem:
    """One failed check: ``check`` names it, ``message`` explains it."""

    check: Check
    message: str


@dataclass(frozen=True, slots=True)
class IpnCheck:
    """The result of :func:`check_ipn`: ``ok`` when ``problems`` is empty."""

    problems: tuple[IpnProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok


def _same_text(a: str | None, b: str) -> bool:
    return a is not None and a.strip().casefold() == b.strip().casefold()


def check_ipn(
    message: IpnMessage,
    *,
    receiver_emails: Iterable[str] = (),
    receiver_ids: Iterable[str] = (),
    environment: Literal["test", "production"] | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
) -> IpnCheck:
    """The checks of §9.4 on a message (run after ``VERIFIED``; the environment check also
    before verifying, §9.3). Nothing is raised for the message: every failed check is an
    :class:`IpnProblem` in the result.

    * receiver: ``receiver_id`` is one of ``receiver_ids``, or ``receiver_email`` or
      ``business`` is one of ``receiver_emails`` (case-insensitive). For ``masspay`` the shop is
      the sender: ``payer_id``/``payer_email`` are compared instead. At least one id or
      address is required (else :class:`~axepta.errors.ConfigurationError`).
    * environment: ``test_ipn=1`` exactly when ``environment`` is ``test`` (when given).
    * amount / currency: ``mc_gross`` equals ``amount`` (:class:`~decimal.Decimal`, so
      ``19.95 == 19.950``; negative for refunds) and ``mc_currency`` equals ``currency``
      (case-insensitive), when given.
    """
    emails = [e for e in receiver_emails if e.strip()]
    ids = [i for i in receiver_ids if i.strip()]
    if not emails and not ids:
        raise ConfigurationError("check_ipn needs the receiving account: receiver_emails or receiver_ids")
    if amount is not None and not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal (floats cannot compare money exactly)")
    problems: list[IpnProblem] = []
    account_ids: tuple[str | None, ...]
    account_emails: tuple[str | None, ...]
    if message.txn_type == TxnType.MASSPAY:
        account_ids, account_emails, who = (message.payer_id,), (message.payer_email,), "sender"
    else:
        account_ids = (message.receiver_id,)
        account_emails = (message.receiver_email, message.business)
        who = "receiver"
    id_ok = any(_same_text(have, want) for have in account_ids for want in ids)
    email_ok = any(_same_text(have, want) for have in account_emails for want in emails)
    if not (id_ok or email_ok):
        problems.append(IpnProblem("receiver", f"the message's {who} is not one of the configured accounts"))
    if environment is not None and message.environment != environment:
        problems.append(
            IpnProblem(
                "environment",
                f"the message is a {message.environment} message (test_ipn="
                f"{'1' if message.test_ipn else 'absent'}) but this listener is {environment}",
            )
        )
    if amount is not None and message.mc_gross != amount:
        problems.append(IpnProblem("amount", f"mc_gross is {message.mc_gross}, expected {amount}"))
    if currency is not None and not _same_text(message.mc_currency, currency):
        problems.append(IpnProblem("currency", f"mc_currency is {message.mc_currency}, expected {currency.upper()}"))
    return IpnCheck(tuple(problems))
