"""A worker process for the crash tests: one journaled call against the simulator over loopback.

``python _worker.py URL DATABASE_URL OPERATION JSON_KWARGS``; credentials from the environment
(``AXEPTA_*``); ``AXEPTA_LEDGER_TEST_CRASH`` makes the journal kill this process at the chosen
point (axepta/ledger/journal.py). Prints the result's code when it survives.
"""

from __future__ import annotations

import json
import sys

from axepta.client import AxeptaClient
from axepta.credentials import Credentials
from axepta.ledger import Ledger


def main() -> None:
    base_url, database_url, method, kwargs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    with Ledger(database_url) as ledger, AxeptaClient(
        Credentials.from_env(), base_url=base_url, browser_base_url=base_url, ledger=ledger, timeout=10
    ) as client:
        result = getattr(client, method)(**kwargs)
        print(result.code)


if __name__ == "__main__":
    main()
