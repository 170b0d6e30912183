"""The crypto core is a layer of its own: importing it loads no httpx, pydantic or typer."""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_crypto_loads_no_heavy_dependency() -> None:
    code = (
        "import json, sys; import axepta.crypto; "
        "print(json.dumps(sorted(m for m in ('httpx','pydantic','typer','rich','click') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []


def test_crypto_modules_import_only_stdlib_pycryptodome_and_errors() -> None:
    from pathlib import Path

    import axepta.crypto

    allowed = {"Crypto", "axepta"} | set(sys.stdlib_module_names)
    for path in Path(axepta.crypto.__file__).parent.glob("*.py"):
        for line in path.read_text("utf-8").splitlines():
            words = line.split()
            if line.startswith(("import ", "from ")) and len(words) > 1:
                top = words[1].split(".")[0]
                assert top in allowed, f"{path.name} imports {words[1]}"
                if top == "axepta":
                    assert words[1] in {"axepta.errors"} or words[1].startswith("axepta.crypto"), line
