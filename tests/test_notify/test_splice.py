"""Blowfish-ECB block splicing between genuine results (PROTOCOL.md D14, D2 as amended).

Every 8-byte block of ``Data`` is encrypted on its own, so whoever holds two genuine results of
the same merchant (a customer holds their own ``URLSuccess``/``URLFailure`` ``Data``) can move
whole blocks from one into the other: the result still decrypts to printable text and its MAC
still verifies when the five bound fields are untouched. These tests build such splices from
genuine, block-aligned results and check that (1) an inserted run of blocks, which repeats keys,
is refused, and (2) blocks swapped inside unbound values cannot change what identifies the
payment or de-duplicates it.
"""

from __future__ import annotations

import pytest

from axepta import NotificationError, decode_notification
from axepta.credentials import Credentials
from axepta.crypto import encode_params
from axepta.notify import Notification
from tests.conftest import DEMO_MID
from tests.test_notify._support import (
    ORDER_A,
    ORDER_B,
    PAY_ID,
    XID_A,
    XID_B,
    block_result,
    body,
    encrypt,
    post_blocks,
    with_mac,
)


@pytest.fixture
def genuine() -> tuple[list[str], list[tuple[int, int]], list[str], list[tuple[int, int]]]:
    blocks_a, ranges_a = block_result(ORDER_A, XID_A, "REF-OF-ORDER-A", "shop-A")
    blocks_b, ranges_b = block_result(ORDER_B, XID_B, "REF-OF-ORDER-B", "shop-B")
    return blocks_a, ranges_a, blocks_b, ranges_b


def test_the_unspliced_results_are_genuine(credentials: Credentials, genuine: tuple) -> None:
    blocks_a, _, blocks_b, _ = genuine
    a = decode_notification(post_blocks(blocks_a), credentials)
    b = decode_notification(post_blocks(blocks_b), credentials)
    assert (a.trans_id, a.succeeded, a.ref_nr, a.xid) == ("ORDER-A", True, "REF-OF-ORDER-A", XID_A)
    assert (b.trans_id, b.succeeded, b.ref_nr, b.xid) == ("ORDER-B", False, "REF-OF-ORDER-B", XID_B)


def test_blocks_of_a_failed_result_inserted_into_a_success_are_refused(credentials: Credentials, genuine: tuple) -> None:
    """Order B's FAILED blocks carrying RefNr/UserData, inserted before order A's own: the MAC of
    A still verifies, and first-occurrence-wins would report B's RefNr on A's success."""
    blocks_a, ranges_a, blocks_b, ranges_b = genuine
    (_, refs_a), (_, refs_b) = ranges_a, ranges_b
    spliced = blocks_a[: refs_a[0]] + blocks_b[refs_b[0] : refs_b[1]] + blocks_a[refs_a[0] :]
    with pytest.raises(NotificationError, match="occurs twice") as caught:
        decode_notification(post_blocks(spliced), credentials)
    assert caught.value.reason == "format"
    # the same run appended after A's own fields: refused as well (the last occurrence is no better)
    with pytest.raises(NotificationError, match="occurs twice"):
        decode_notification(post_blocks(blocks_a + blocks_b[refs_b[0] : refs_b[1]]), credentials)


def test_inserted_blocks_with_new_keys_only_do_not_touch_the_bound_fields(credentials: Credentials, genuine: tuple) -> None:
    """A run of B's blocks whose keys A lacks decodes (nothing repeats), and still cannot change
    what identifies A or decides it: the bound fields and dedup_key are A's."""
    blocks_a, ranges_a, blocks_b, ranges_b = genuine
    (_, refs_a) = ranges_a
    without_refs = blocks_a[: refs_a[0]] + blocks_a[refs_a[1] :]
    original = decode_notification(post_blocks(without_refs), credentials)
    spliced = decode_notification(post_blocks(without_refs + blocks_b[ranges_b[1][0] : ranges_b[1][1]]), credentials)
    assert spliced.ref_nr == "REF-OF-ORDER-B"  # unbound: it can come from anywhere
    assert not spliced.is_authenticated("ref_nr")
    assert spliced.bound_fields == original.bound_fields
    assert spliced.dedup_key == original.dedup_key == (PAY_ID, "ORDER-A", "OK", "00000000")


def test_swapping_xid_blocks_cannot_change_dedup_key(credentials: Credentials, genuine: tuple) -> None:
    blocks_a, ranges_a, blocks_b, ranges_b = genuine
    (xa0, xa1), _ = ranges_a
    (xb0, xb1), _ = ranges_b
    assert xa1 - xa0 == xb1 - xb0
    swapped_blocks = blocks_a[:xa0] + blocks_b[xb0:xb1] + blocks_a[xa1:]
    original = decode_notification(post_blocks(blocks_a), credentials)
    swapped = decode_notification(post_blocks(swapped_blocks), credentials)
    assert swapped.xid == XID_B and original.xid == XID_A  # the splice went through: XID is unbound
    assert swapped.dedup_key == original.dedup_key == (PAY_ID, "ORDER-A", "OK", "00000000")


def test_any_repeated_key_in_the_decrypted_part_is_refused(credentials: Credentials) -> None:
    head = encode_params({"mid": DEMO_MID, **with_mac(ORDER_A)})
    for extra in ("&RefNr=1&refnr=2", "&UserData=a&UserData=a", "&XID=1&xid=2", "&Unknown=&UNKNOWN="):
        data, length = encrypt(head + extra)
        with pytest.raises(NotificationError, match="occurs twice") as caught:
            decode_notification(body(data, length), credentials)
        assert caught.value.reason == "format"


def test_a_repeated_clear_key_is_refused_too(credentials: Credentials) -> None:
    """D2: in a notification or browser result any repeated name is an error, clear ones included."""
    data, length = encrypt(encode_params({"mid": DEMO_MID, **with_mac(ORDER_A)}))
    with pytest.raises(NotificationError, match="occurs twice"):
        decode_notification(body(data, length) + b"&Custom=1&custom=2", credentials)
    with pytest.raises(NotificationError, match="occurs twice"):
        decode_notification(encode_params({"mid": DEMO_MID, **with_mac(ORDER_A)}) + "&RefNr=a&REFNR=b", credentials,
                            allow_clear=True)


def test_the_notification_says_which_fields_are_authenticated(credentials: Credentials) -> None:
    data, length = encrypt(encode_params({"mid": DEMO_MID, **with_mac(ORDER_A), "XID": XID_A, "RefNr": "R",
                                          "GrossAmount": "12.34", "mc_gross": "12.34"}))
    note = decode_notification(body(data, length), credentials)
    assert Notification.BOUND_FIELDS == ("merchant_id", "pay_id", "trans_id", "status", "code")
    assert note.bound_fields == {
        "merchant_id": DEMO_MID, "pay_id": PAY_ID, "trans_id": "ORDER-A", "status": "OK", "code": "00000000",
    }
    for name in Notification.BOUND_FIELDS:
        assert note.is_authenticated(name)
    for name in ("xid", "ref_nr", "user_data", "tid", "gross_amount", "mc_gross", "raw", "clear", "first_name"):
        assert not note.is_authenticated(name), name
    with pytest.raises(AttributeError, match="no field 'amount'"):
        note.is_authenticated("amount")
    assert set(Notification.BOUND_FIELDS) | set(Notification.UNBOUND_FIELDS) == set(Notification.FIELDS)
    assert "authenticated" not in (Notification.raw.__doc__ or "").replace("not authenticated", "")
