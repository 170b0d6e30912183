"""A reference shop-side notification handler (PROTOCOL.md §7.3), small enough to read whole.

It is what the fault tests hold the platform's duplicates and reorderings against:

1-5. :func:`axepta.decode_notification` (size cap, decrypt, merchant ID, MAC) — else 400;
6.   the payment is found by ``TransID`` (and ``PayID`` once known) — else 404, so the
     platform retries (a notification can overtake the shop's own commit);
7.   under a per-payment lock: de-duplicate on (``PayID``, ``XID``, ``Status``, ``Code``) and
     apply the state only if it moves the payment forward (§1.11: monotonic);
8.   200 for every authenticated message, duplicates and stale ones included.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from axepta.credentials import Credentials
from axepta.errors import NotificationError
from axepta.notify import MAX_NOTIFICATION_BYTES, Notification, decode_notification

#: How far each notification state takes a payment (§1.11). A payment only ever moves to a
#: higher rank; ``completed``, ``expired`` and ``failed`` are final.
RANK = {"new": 0, "pending": 1, "approved": 1, "review": 1, "completed": 2, "expired": 2, "failed": 2}


@dataclass
class ShopPayment:
    trans_id: str
    pay_id: str | None = None
    state: str = "new"
    history: list[str] = field(default_factory=list)  # every state applied, in order
    seen: set[tuple[str, str, str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ReferenceShop:
    """The shop's notification store: ``register(trans_id)`` when the order is created,
    ``handle(body) -> HTTP status`` for every URLNotify call."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._lock = threading.Lock()
        self.payments: dict[str, ShopPayment] = {}
        self.outcomes: Counter[str] = Counter()

    def register(self, trans_id: str, pay_id: str | None = None) -> ShopPayment:
        with self._lock:
            payment = self.payments.setdefault(trans_id, ShopPayment(trans_id))
            payment.pay_id = payment.pay_id or pay_id
            return payment

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] += 1

    def handle(self, body: bytes) -> int:
        try:
            note: Notification = decode_notification(body, self.credentials)
        except NotificationError:
            self._count("rejected")
            return 400
        with self._lock:
            payment = self.payments.get(note.trans_id or "")
        if payment is None or (payment.pay_id is not None and payment.pay_id != note.pay_id):
            self._count("unknown")
            return 404
        with payment.lock:
            payment.pay_id = payment.pay_id or note.pay_id
            if note.dedup_key in payment.seen:
                outcome = "duplicate"
            else:
                payment.seen.add(note.dedup_key)
                if RANK[note.state] > RANK[payment.state]:
                    payment.state = note.state
                    payment.history.append(note.state)
                    outcome = "applied"
                else:
                    outcome = "stale"  # a late message never moves a payment backwards
        self._count(outcome)
        return 200

    def transport(self) -> httpx.MockTransport:
        """The shop as an in-process ``httpx`` transport (for ``notify_transport``)."""
        return httpx.MockTransport(lambda request: httpx.Response(self.handle(request.read())))


class ShopServer:
    """The same shop over loopback HTTP (127.0.0.1, ephemeral port): ``url`` is its URLNotify.
    Bodies above the notification cap are refused with 413 before they are read."""

    def __init__(self, shop: ReferenceShop) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_NOTIFICATION_BYTES:
                    status = 413
                    self.close_connection = True
                else:
                    status = shop.handle(self.rfile.read(length))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/notify"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> ShopServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
