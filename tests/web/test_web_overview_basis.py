"""The overview page labels each zone figure with its basis (trade, PROXY, SHARE PROXY) and
says where it rests on critmin's estimated flows, as the CLI and JSON do."""

from __future__ import annotations

import re
from typing import Any


def _cells(html: str, key: str) -> list[str]:
    row = re.search(rf'<tr data-key="{key}">(.*?)</tr>', html, re.S)
    assert row is not None, key
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[1], re.S)
    ]


def test_overview_labels_proxies_and_estimates(client: Any) -> None:
    r = client.get("/overview", params={"members": "USA,CAN,AUS,JPN,KOR,EU27", "watch": "CHN"})
    assert r.status_code == 200
    assert 'title="Zone basis">basis</th>' in r.text  # a short heading under "Zone figures"
    assert "trade · estimated flows" in _cells(r.text, "lithium:mine")  # HS 253090 estimates
    assert "SHARE PROXY · estimated flows" in _cells(r.text, "rare_earths:mine")
    assert "trade" in _cells(r.text, "lithium:refine")  # lithium carbonate: observed BACI
    assert "PROXY" in _cells(r.text, "platinum:mine")
