"""Helpers shared by the web tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
EXAMPLE1 = EXAMPLES / "01_lithium_floor_levy.toml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = REPO / "out" / "screenshots"

EXAMPLE1_DICT: dict[str, Any] = {
    "name": "Zone core: lithium carbonate floor by variable levy",
    "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
    "product": [{"id": "lithium_carbonate"}],
    "policy": [{"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 15000}],
}


DESIGNER_FORM: dict[str, Any] = {
    "name": "From the form",
    "member_groups": "EU27",
    "member_countries": ["USA", "CAN", "AUS", "JPN", "KOR"],
    "watch": "CHN",
    "products": "lithium_carbonate",
    "policy-0-type": "price_floor",
    "policy-0-mechanism": "variable_levy",
    "policy-0-price": "15000",
    "policy-0-exporters": "non-members",
    "policy-0-importers": "members",
}
"""Example 1 as the designer's form posts it."""


def without_timing(obj: Any) -> Any:
    """The results contract without run-time measurements (``solve_seconds``)."""
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k != "solve_seconds"}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


def saved_id(url: str, scenario: dict[str, Any]) -> str:
    """POST ``scenario`` as JSON to a live server's ``url`` (``.../api/scenarios``) and return
    the saved scenario's id."""
    request = urllib.request.Request(
        url, json.dumps(scenario).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        return str(json.loads(resp.read())["id"])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerThread:
    """uvicorn serving an app in a daemon thread; ``stop()`` asks it to exit and joins."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(
            target=self.server.run, name="critmin-test-server", daemon=True
        )

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
