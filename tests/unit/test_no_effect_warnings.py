"""Legal policies that do nothing, found in the audit of no-effect warnings: each gets a
``no effect:`` (or ``may have no effect:``) warning that names it and says why."""

from __future__ import annotations

from typing import Any

from critmin.note_kinds import WARNING_PREFIXES
from critmin.scenario import Scenario
from critmin.scenario.resolution import resolve


def scenario(*policies: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "no effect",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "gallium_germanium"}],
        "policy": list(policies),
        **extra,
    }


def warnings(data: dict[str, Any]) -> list[str]:
    notes = resolve(Scenario.from_dict(data))[1][0].notes
    return [n for n in notes if n.startswith(WARNING_PREFIXES)]


BAN_TO_ZONE = {"type": "export_ban", "exporters": ["CHN"], "importers": "members"}


def test_a_market_shock_of_0_or_on_countries_without_trade_warns() -> None:
    zero = warnings(scenario(shock=[{"type": "supply", "change": 0.0}]))
    assert zero == ["no effect: shock[0] (supply): a change of 0 leaves supply as it is"]
    nobody = warnings(scenario(shock=[{"type": "supply", "countries": ["NPL"], "change": -0.3}]))
    assert nobody == [
        "no effect: shock[0] (supply): none of the countries selected sells this product: it "
        "does nothing"
    ]


def test_a_cap_at_baseline_exports_names_its_policy() -> None:
    licence = {"type": "export_licensing", "exporters": ["CHN"], "grant_share": 1.0}
    [note] = warnings(scenario(licence))
    assert note.startswith("may have no effect: policy[0] (export_licensing): CHN: an export cap")
    quota = {"type": "export_quota", "exporters": ["CHN"], "share_of_baseline": 1.0}
    [note] = warnings(scenario(quota))
    assert note.endswith("binds only if the scenario's other policies raise their exports")


def test_a_leak_via_countries_that_supply_no_destination_warns() -> None:
    ban = BAN_TO_ZONE | {"leak_via": ["NPL"], "leak_share": 0.5}
    assert any(
        n.startswith("no effect: policy[0].leak_via: no via country")
        for n in warnings(scenario(ban))
    )
    tight = BAN_TO_ZONE | {"leak_via": ["THA"], "leak_share": 0.0}
    assert any(
        n.startswith("no effect: policy[0].leak_via: leak_share is 0")
        for n in warnings(scenario(tight))
    )


def test_policies_on_pairs_that_a_ban_closes_warn() -> None:
    tariff = {"type": "tariff", "exporters": ["CHN"], "importers": "members", "rate": 0.25}
    assert warnings(scenario(BAN_TO_ZONE, tariff)) == [
        "no effect: policy[1] (tariff): export bans (or export quotas or licences of 0) close "
        "every traded pair it selects: no trade is left to pay it"
    ]
    usa = {"type": "export_ban", "exporters": ["CHN"], "importers": ["USA"]}
    assert warnings(scenario(BAN_TO_ZONE, usa)) == [
        "no effect: policy[1] (export_ban): policy[0] (export_ban) already bans every traded "
        "pair it selects"
    ]
    # a narrower ban first, then a wider one: the first does nothing (the second applies
    # elsewhere too, and gets no warning)
    assert warnings(scenario(usa, BAN_TO_ZONE)) == [
        "no effect: policy[0] (export_ban): policy[1] (export_ban) (below) also bans every "
        "traded pair it selects"
    ]
    # the same ban twice: only the second is idle (no circular pair of warnings)
    assert warnings(scenario(BAN_TO_ZONE, BAN_TO_ZONE)) == [
        "no effect: policy[1] (export_ban): policy[0] (export_ban) already bans every traded "
        "pair it selects"
    ]
    # two narrow bans covered together by a later wide one: each is named
    jpn = {"type": "export_ban", "exporters": ["CHN"], "importers": ["JPN"]}
    notes = warnings(scenario(usa, jpn, BAN_TO_ZONE))
    assert [n.split(":")[1].strip() for n in notes] == [
        "policy[0] (export_ban)",
        "policy[1] (export_ban)",
    ]
    everywhere = BAN_TO_ZONE | {"importers": "all"}
    quota = {"type": "export_quota", "exporters": ["CHN"], "share_of_baseline": 0.5}
    [note] = warnings(scenario(everywhere, quota))
    assert note.startswith("no effect: policy[1] (export_quota): export bans")
    outsiders = {"type": "export_ban", "exporters": "non-members", "importers": "members"}
    floor = {"type": "price_floor", "price_usd_per_t": 1e6}
    [note] = warnings(scenario(outsiders, floor))
    assert note.startswith("no effect: policy[1] (price_floor): export bans")
    assert "nothing for a levy to top up" in note


def test_a_supply_elasticity_of_a_country_without_output_warns() -> None:
    """A per-country supply elasticity of a buyer that produces none of the product does
    nothing (it ran in silence). The product's own table is warned per product; the
    defaults' table, which is for every product, only where the country produces none."""
    own = scenario(product=[{"id": "gallium_germanium", "supply_elasticity": {"ISL": 2.0}}])
    [note] = warnings(own)
    assert note.startswith("no effect: product[0].supply_elasticity.ISL: ISL has no output of")
    assert note.endswith("(it sells none), so its supply elasticity changes nothing")
    producer = scenario(product=[{"id": "gallium_germanium", "supply_elasticity": {"CHN": 2}}])
    assert warnings(producer) == []
    # CHL: no cobalt oxides, but lithium carbonate; NPL: in neither market as a producer
    both = [{"id": "cobalt_oxides"}, {"id": "lithium_carbonate"}]
    table = {"default": 1.0, "CHL": 2.0, "NPL": 2.0}
    data = scenario(product=both, defaults={"supply_elasticity": table})
    for rp in resolve(Scenario.from_dict(data))[1]:
        said = [n for n in rp.notes if n.startswith("no effect: defaults.supply_elasticity")]
        assert [n.split(":")[1].strip() for n in said] == ["defaults.supply_elasticity.NPL"]


def test_a_country_of_a_policy_list_that_does_not_trade_warns() -> None:
    """``exporters = ["CHN", "ISL"]``: ISL exports none of the product, so its entry does
    nothing (it ran in silence; the list of ISL alone is warned about as the policy's own).
    A country that trades one of the policy's products is not warned about the others."""
    ban = {"type": "export_ban", "exporters": ["CHN", "ISL", "KEN"], "importers": "members"}
    assert warnings(scenario(ban)) == [
        "no effect: policy[0] (export_ban): ISL, KEN, of its exporters, do not export gallium, "
        "germanium, hafnium and other metals, unwrought to its importers in the baseline: "
        "those entries change nothing"
    ]
    # NPL buys no gallium (it is not in the market)
    tariff = {"type": "tariff", "exporters": "all", "importers": ["USA", "NPL"], "rate": 0.1}
    [note] = warnings(scenario(tariff))
    assert note.startswith("no effect: policy[0] (tariff): NPL, one of its importers, does not")
    assert "import gallium" in note and note.endswith("that entry changes nothing")
    # CHL sells no cobalt oxides but lithium carbonate: the entry does something
    both = [{"id": "cobalt_oxides"}, {"id": "lithium_carbonate"}]
    ban = {"type": "export_ban", "exporters": ["CHN", "CHL"], "importers": "members"}
    for rp in resolve(Scenario.from_dict(scenario(ban, product=both)))[1]:
        assert not any("of its exporters" in n for n in rp.notes), rp.notes
