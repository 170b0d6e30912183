"""The receiver over the books (ASGI, Starlette): ``/axepta/notify``, ``/paypal/ipn``, ``/healthz``.

Installed with ``pip install 'axepta[server]'`` (Starlette, uvicorn and the books). Run it with
``axepta serve`` or mount :func:`create_app` in your own ASGI server.
"""

from __future__ import annotations

from axepta.server.app import create_app

__all__ = ["create_app"]
