"""Nothing breaks it: every bad input to the CLI gets one clear message (or, for legal input
that does nothing, a visible warning) and never a traceback.

One table: the command, the files it reads, the expected exit status (2 = usage error, 1 =
failure, 0 = runs with a warning) and words the message must contain. Run in-process with
Typer's CliRunner (fast); ``test_bad_input_subprocess.py`` runs a few as real processes.
Keep the table growing as commands land.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import critmin.errors
import critmin.simulation
from critmin.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "01_lithium_floor_levy.toml"

ZONE = '[zone]\nmembers = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]\nwatch = ["CHN"]\n'
LITHIUM = '[[product]]\nid = "lithium_carbonate"\n'


def scenario(*policies: str, zone: str = ZONE, product: str = LITHIUM, head: str = "") -> str:
    """A scenario file: a name, the zone, one product and the policies given (TOML text)."""
    body = "".join(f"[[policy]]\n{p}\n" for p in policies)
    return f'name = "bad input"\n{head}{zone}{product}{body}'


USER_MARKET = '[[product]]\nid = "widget"\nflows = "flows.csv"\nbaseline_price_usd_per_t = 10\n'
USER_ZONE = '[zone]\nmembers = ["BBB"]\nwatch = ["AAA"]\n'
GOOD_FLOWS = "exporter,importer,value_usd\nAAA,BBB,100\nCCC,BBB,50\nBBB,AAA,20\nBBB,BBB,80\n"


def flows_case(flows: str) -> dict[str, str]:
    return {"s.toml": scenario(zone=USER_ZONE, product=USER_MARKET), "flows.csv": flows}


@dataclass(frozen=True)
class Case:
    """argv may use {s} (the scenario file s.toml), {tmp} (the test's folder), {ex} (example 1)."""

    id: str
    argv: list[str]
    files: dict[str, str] = field(default_factory=dict)
    code: int = 2
    words: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


def sim(text: str, *extra: str, code: int = 2, words: tuple[str, ...] = (), **kw: Any) -> Any:
    return {"argv": ["simulate", "{s}", *extra], "files": {"s.toml": text}, "code": code} | {
        "words": words,
        **kw,
    }


JSON_LITHIUM = (
    '{"name": "a", "zone": {"members": ["USA", "CAN"], "watch": ["CHN"]}, '
    '"product": [{"id": "lithium_carbonate"}]}'
)
PATHS_SCENARIO = scenario() + '[paths]\nfloor_usd_per_t = 20000\nmechanisms = ["variable_levy"]\n'

SWEEP_TOO_WIDE = ["--from", "1e308", "--to", "-1e308", "--steps", "3"]
COALITION_CLI = ["coalition", str(EXAMPLE.parent / "coalition_core.toml"), "--no-cache"]

CASES = [
    # ---- one market twice: by its id and its HS6 code, every figure of it counted twice
    Case(
        "one market listed by id and by HS6 code",
        **sim(
            scenario(product=LITHIUM + '[[product]]\nid = "283691"\n'),
            words=("product[1].id", "same market as product[0]", "list it once"),
        ),
    ),
    Case(  # one unknown code in a list is refused as a list of it alone is
        "exporters with one unknown code among known ones",
        **sim(
            scenario('type = "export_ban"\nexporters = ["CHN", "XXX"]'),
            words=("policy[0].exporters", "unknown country or group 'XXX'"),
        ),
    ),
    # ---- [paths] and [coalition] that could never run: simulate and report refuse them as
    # the web API does (simulate ran them in silence; the API refused the same file)
    Case(
        "simulate with an unknown coalition candidate",
        **sim(
            scenario('type = "tariff"\nrate = 0.1') + '[coalition]\ncandidates = ["IDN", "XXX"]\n',
            words=("coalition.candidates[1]", "unknown country or group 'XXX'"),
        ),
    ),
    Case(
        "report with a paths start year outside its years",
        ["report", "{s}", "--out", "{tmp}/r.html"],
        {
            "s.toml": scenario('type = "tariff"\nrate = 0.1')
            + '[paths]\nfloor_usd_per_t = 20000\nyears = "2026-2030"\nstart_year = 2040\n'
        },
        words=("paths.start_year", "2040 is outside the years 2026-2030"),
    ),
    # ---- coalitions: a blank list option is not "no candidates"; a scope's unknown code
    Case(
        "coalition --candidates blank",
        ["coalition", "{s}", "--candidates", ",,"],
        {"s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')},
        words=("--candidates: no value given",),
    ),
    Case(
        "coalition scope of an unknown code",
        ["coalition", "{s}"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n[coalition.scope]\nXXX = { stages = ["refine"] }\n'
        },
        words=("coalition.scope.XXX", "unknown country or group"),
    ),
    Case(  # a scope with no stage would select nothing: refused, not a worthless player
        "coalition scope with an empty list of stages",
        ["coalition", "{s}"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n[coalition.scope]\nIDN = { stages = [] }\n'
        },
        words=("coalition.scope.IDN.stages", "at least 1 item"),
    ),
    Case(  # a scope whose stages hold none of the scenario's markets: the player does nothing
        "coalition scope that selects no market",
        ["coalition", "{s}", "--no-cache"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n[coalition.scope]\nIDN = { stages = ["mine"] }\n'
        },
        code=0,
        words=("warning: no effect: IDN trades none of the scenario's products",),
    ),
    Case(  # a group candidate's scope, taken from [coalition.scope], was refused as an option
        "coalition --scope of a group candidate",
        [
            *["coalition", "{s}", "--no-cache", "--candidates", "ASEAN", "--flag-only"],
            *["--scope", "ASEAN=mine", "--objective", "self_sufficiency", "--no-progress"],
        ],
        {"s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')},
        code=0,
        words=("warning: no effect: ASEAN trades none of the scenario's products",),
        absent=("ISO 3166",),
    ),
    Case(  # the second replaced the first in silence
        "coalition --scope twice for one candidate",
        [*COALITION_CLI, "--scope", "IDN=refine", "--scope", "idn=nickel_unwrought"],
        {},
        words=("--scope 'idn=nickel_unwrought': IDN is given twice",),
    ),
    Case(  # a stage in capitals was "unknown product 'Refine'", with no word of the stages
        "coalition --scope with a stage name in capitals",
        [*COALITION_CLI, "--scope", "IDN=Refine"],
        {},
        words=(
            "--scope IDN: 'Refine' is neither a stage nor one of the scenario's products",
            "stage names are lower case (did you mean 'refine'?)",
            "stages: mine, refine, product",
            "products: lithium_carbonate, cobalt_oxides",
        ),
        absent=("IDN.products",),
    ),
    Case(  # neither a stage nor a product: both lists, and the closest name
        "coalition --scope with an unknown stage or product",
        [*COALITION_CLI, "--scope", "IDN=refine,cobalt_oxide"],
        {},
        words=(
            "--scope IDN: 'cobalt_oxide' is neither a stage (mine, refine, product) nor one of "
            "the scenario's products (lithium_carbonate, cobalt_oxides",
            "(did you mean 'cobalt_oxides'?)",
        ),
    ),
    Case(  # the scenario's table: a stage under products, a product under stages
        "coalition scope with a stage listed as a product",
        ["coalition", "{s}"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n[coalition.scope]\n'
            + 'IDN = { products = ["refine"] }\n'
        },
        words=(
            "coalition.scope.IDN.products",
            "'refine' is a stage, not a product: list it under stages",
        ),
    ),
    Case(
        "coalition scope with a stage in capitals",
        ["coalition", "{s}"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n[coalition.scope]\n'
            + 'IDN = { stages = ["Refine"] }\n'
        },
        words=(
            "coalition.scope.IDN.stages",
            "unknown stage 'Refine': stage names are lower case (did you mean 'refine'?)",
        ),
    ),
    Case(  # the last threshold was kept in silence
        "coalition --wgi-min indicator twice",
        [*COALITION_CLI, "--wgi-min", "rl=-1,RL=0.9"],
        {},
        words=("--wgi-min: 'RL' is given twice",),
    ),
    Case(  # valued twice under one key
        "coalition --objective twice",
        [*COALITION_CLI, "--objective", "watch_share,self_sufficiency,watch_share"],
        {},
        words=("--objective: watch_share listed twice",),
    ),
    Case(  # a scope for a country that is not a candidate does nothing: a warning, not a note
        "coalition scope of a non-candidate",
        ["coalition", "{s}", "--no-cache", "--objective", "self_sufficiency", "--no-progress"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n[coalition.scope]\nBRA = { stages = ["mine"] }\n'
        },
        code=0,
        words=("warning: no effect: coalition.scope.BRA: BRA is not a candidate",),
    ),
    Case(
        "coalition --cache-dir with --no-cache",
        [
            *["coalition", "{s}", "--no-cache", "--cache-dir", "{tmp}/c", "--no-progress"],
            *["--objective", "self_sufficiency"],
        ],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n'
        },
        code=0,
        words=("warning: no effect: --cache-dir",),
    ),
    Case(  # DEU leaving while EU27 stays changed nothing: its 0s read as "the zone loses nothing"
        "coalition members that share a country",
        ["coalition", "{s}", "--no-cache", "--objective", "self_sufficiency", "--no-progress"],
        {
            "s.toml": scenario(
                zone='[zone]\nmembers = ["USA", "EU27", "DEU"]\nwatch = ["CHN"]\n',
                product='[[product]]\nid = "cobalt_oxides"\n',
            )
            + '[coalition]\ncandidates = ["IDN"]\n'
        },
        code=0,
        words=(
            "warning: no effect: what if DEU leaves: all its countries are also in other "
            "members (DEU in EU27)",
            "note: what if EU27 leaves: countries of it that are also in other members "
            "(DEU in DEU) stay in the zone; its values count only its other 26 of 27",
        ),
    ),
    Case(  # options named as the options they are, not as fields of the scenario file
        "coalition objective given wrong",
        [*COALITION_CLI, "--objective", "foo"],
        {},
        words=("--objective: must be 'self_sufficiency'",),
        absent=("scenario field",),
    ),
    Case(
        "coalition candidate that is a member",
        [*COALITION_CLI, "--candidates", "USA"],
        {},
        words=("--candidates: USA is already a zone member",),
        absent=("scenario field",),
    ),
    Case(  # the group it is in is named ('DEU is already a zone member (DEU)' was all)
        "coalition candidate in a member group",
        [*COALITION_CLI, "--candidates", "DEU"],
        {},
        words=("--candidates: DEU is already a zone member (DEU in EU27)",),
    ),
    Case(  # a leaky ban's routed trade is capped in the solver by a number nobody wrote
        "a leaky ban routes more than its baseline",
        **sim(
            scenario(
                'type = "export_ban"\nexporters = ["CHN"]\nimporters = ["USA"]\n'
                'leak_via = ["DEU", "BEL"]\nleak_share = 10',
                product='[[product]]\nid = "gallium_germanium"\n',
            ),
            "--detail",
            code=0,
            words=("leak",),
            absent=("grant share of",),
        ),
    ),
    Case(  # a destination quota with nothing to cap: a warning, as for a whole-exporter one
        "destination quota on an exporter without trade",
        **sim(
            scenario(
                'type = "export_quota"\nexporters = ["ISL"]\nimporters = "members"\n'
                "share_of_baseline = 0.5"
            ),
            code=0,
            words=("warning: no effect: policy[0] (export_quota): no baseline trade",),
        ),
    ),
    Case(
        "destination quota above the baseline",
        **sim(
            scenario(
                'type = "export_quota"\nexporters = ["CHL"]\nimporters = "members"\n'
                "share_of_baseline = 1.5"
            ),
            code=0,
            words=(
                "warning: may have no effect: policy[0] (export_quota): CHL: an export cap or "
                "licence grant share of 1.5",
            ),
        ),
    ),
    Case(  # the tighter of two licences applies on each pair: the looser does nothing
        "two licences on the same pairs",
        **sim(
            scenario(
                'type = "export_licensing"\nexporters = ["CHN"]\ngrant_share = 0.8',
                'type = "export_licensing"\nexporters = ["CHN"]\ngrant_share = 0.5',
            ),
            code=0,
            words=("warning: no effect: policy[0] (export_licensing): a tighter cap",),
            absent=("policy[1] (export_licensing): a tighter",),
        ),
    ),
    Case(  # a cap of 0 is the policy's own ban: it has an effect (it was said to have none)
        "a destination quota of 0",
        **sim(
            scenario(
                'type = "export_quota"\nexporters = ["CHN"]\nimporters = "members"\n'
                "share_of_baseline = 0",
                'type = "export_licensing"\nexporters = ["CHL"]\nimporters = "members"\n'
                "grant_share = 0",
            ),
            code=0,
            absent=("tighter cap",),
        ),
    ),
    Case(  # a ban on the licensed pair: the licence does nothing there
        "a licence and a ban on the same pair",
        **sim(
            scenario(
                'type = "export_licensing"\nexporters = ["CHN"]\nimporters = ["USA"]\n'
                "grant_share = 0.8",
                'type = "export_ban"\nexporters = ["CHN"]\nimporters = ["USA"]',
                product='[[product]]\nid = "gallium_germanium"\n',
            ),
            code=0,
            words=("warning: no effect: policy[0] (export_licensing): a tighter cap or a ban",),
        ),
    ),
    Case(  # the scenario is valid; THA joining the zone makes it a restricted destination
        "coalition candidate that is a leak's via, on two worker processes",
        ["coalition", "{s}", "--no-cache", "--workers", "2"],
        {
            "s.toml": (
                EXAMPLE.parent / "controls" / "antimony_licensing_leakage_2025.toml"
            ).read_text()
            + '\n[coalition]\ncandidates = ["THA"]\n'
        },
        words=("policy[0].leak_via", "THA is a restricted destination", "candidates join the zone"),
        absent=("internal error",),
    ),
    Case(  # the same stage twice: each row once, and the table shown (it printed no table)
        "assess with a repeated stage",
        ["assess", "--stage", "mine,mine", "--minerals", "lithium,cobalt", "--csv"],
        {},
        code=0,
        words=("lithium,mine", "cobalt,mine"),
    ),
    Case(
        "assess with an empty stage list",
        ["assess", "--stage", ",,"],
        {},
        words=("--stage lists no stage",),
    ),
    Case(
        "assess with an empty member list",
        ["assess", "--members", ""],
        {},
        words=("--members lists no country",),
    ),
    Case(
        "assess criticality with a stage",
        ["assess", "--view", "criticality", "--stage", "mine"],
        {},
        words=("--stage applies to the supply and nir views",),
    ),
    Case(  # every point the same: the table still shows, with its parameter, and a warning
        "sweep over one value",
        [
            "sweep",
            "{ex}",
            "-p",
            "policy[0].price_usd_per_t",
            "--from",
            "1e4",
            "--to",
            "1e4",
            "--steps",
            "3",
        ],
        {},
        code=0,
        words=(
            "the values repeat (10000)",
            "price floor (USD/t)",
            "10,000",
            "self-sufficiency (%) =",
        ),
    ),
    Case(
        "licensing with an empty grant-share table",
        **sim(
            scenario('type = "export_licensing"\nexporters = ["CHN"]\ngrant_share = {}'),
            words=("policy[0]", "grant_share is an empty table"),
        ),
    ),
    Case(
        "coalition option out of range named as the option",
        ["coalition", "{s}", "--sampled", "1000000000"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n'
        },
        words=("--sampled: must be less than or equal to 1000000",),
        absent=("scenario field",),
    ),
    Case(
        "simulate checks a disruption's codes too",
        **sim(
            scenario() + '[[disruption]]\nexporters = ["XXX"]\nprobability = 0.1\n',
            words=("disruption[0].exporters", "unknown country or group 'XXX'"),
        ),
    ),
    Case(
        "a blank name",
        **sim(scenario().replace('name = "bad input"', 'name = "   "'), words=("name", "blank")),
    ),
    Case(
        "a label of 300 characters",
        **sim(
            scenario('type = "tariff"\nrate = 0.1\nlabel = "' + "x" * 300 + '"'),
            words=("policy[0].label", "200 characters"),
        ),
    ),
    Case(
        "sweep value left out",
        ["sweep", "{ex}", "-p", "policy[0].price_usd_per_t", "--values", "1e4,,2e4"],
        words=("--values: an empty item",),
    ),
    Case(
        "data check of a folder without a dataset",
        ["data", "check", "--reference", "{tmp}"],
        words=("no dataset there", "manifest.json"),
    ),
    Case(
        "a name that reorders itself (right-to-left override)",
        **sim('name = "zone\u202eevil"\n' + ZONE + LITHIUM, words=("name", "control character")),
    ),
    # ---- a scenario "file" that never ends (read up to the limit, not to the end)
    Case(
        "scenario file without end",
        ["simulate", "/dev/zero"],
        words=("/dev/zero", "larger than 8 MiB"),
    ),
    # ---- numbers: finite and in range, NaN named as such
    Case(
        "floor inf",
        **sim(
            scenario('type = "price_floor"\nprice_usd_per_t = inf'),
            words=("policy[0].price_usd_per_t", "must be a finite number", "inf"),
        ),
    ),
    Case(
        "floor 1e300",
        **sim(
            scenario('type = "price_floor"\nprice_usd_per_t = 1e300'),
            words=("policy[0].price_usd_per_t", "at most 1e+10", "1e+300"),
        ),
    ),
    Case(
        "floor nan",
        **sim(
            scenario('type = "price_floor"\nprice_usd_per_t = nan'),
            words=("must be a finite number, got nan",),
            absent=("greater than",),
        ),
    ),
    Case(
        "tariff nan",
        **sim(
            scenario('type = "tariff"\nrate = nan'),
            words=("policy[0].rate", "must be a finite number, got nan"),
            absent=("<= 10", "at most"),
        ),
    ),
    Case(
        "tariff 11",
        **sim(scenario('type = "tariff"\nrate = 11'), words=("policy[0].rate", "at most 10", "11")),
    ),
    Case(
        "tariff text",
        **sim(scenario('type = "tariff"\nrate = "high"'), words=("policy[0].rate", "'high'")),
    ),
    Case(
        "quota inf",
        **sim(
            scenario('type = "export_quota"\nexporters = ["CHL"]\nshare_of_baseline = inf'),
            words=("policy[0].share_of_baseline", "finite number"),
        ),
    ),
    Case(
        "sigma nan",
        **sim(
            scenario(head="[defaults]\nsigma = nan\n"),
            words=("defaults.sigma", "must be a finite number"),
        ),
    ),
    Case(
        "supply elasticity nan",
        **sim(
            scenario(product=LITHIUM + "supply_elasticity = { default = 1.0, CHN = nan }\n"),
            words=("product[0].supply_elasticity.CHN", "finite number"),
        ),
    ),
    Case(
        "supply elasticity unknown country",
        **sim(
            scenario(product=LITHIUM + "supply_elasticity = { default = 1.0, CHM = 2 }\n"),
            words=("product[0].supply_elasticity", "unknown country", "'CHM'"),
        ),
    ),
    Case(
        "supply elasticity of a flows code",
        ["simulate", "{s}"],
        {
            "s.toml": scenario(
                zone=USER_ZONE,
                product=USER_MARKET + "supply_elasticity = { default = 1.0, AAA = 2 }\n",
            ),
            "flows.csv": GOOD_FLOWS,
        },
        code=0,
    ),
    Case(
        "year out of range",
        **sim(scenario(head="year = 1066\n"), words=("'year'", "at least 1900", "1066")),
    ),
    Case(
        "5000-digit integer",
        **sim(scenario(head=f"year = {'9' * 5000}\n"), words=("more than 4300 digits",)),
    ),
    # ---- codes and names: known, with "did you mean"
    Case(
        "top-level typo",
        **sim(scenario().replace("name =", "nmae ="), words=("'nmae'", "did you mean 'name'")),
    ),
    Case(
        "policy field typo",
        **sim(scenario('type = "tariff"\nrtae = 0.1'), words=("policy[0].rtae", "'rate'")),
    ),
    Case(
        "policy type typo",
        **sim(scenario('type = "tarif"\nrate = 0.1'), words=("policy[0]", "did you mean 'tariff'")),
    ),
    Case(
        "mechanism typo",
        **sim(
            scenario('type = "price_floor"\nmechanism = "variable-levy"\nprice_usd_per_t = 1'),
            words=("policy[0].mechanism", "'variable_levy'"),
        ),
    ),
    Case(
        "selector typo",
        **sim(
            scenario('type = "export_ban"\nexporters = "member"'),
            words=("policy[0].exporters", "did you mean 'members'"),
        ),
    ),
    Case(
        "selector string code",
        **sim(
            scenario('type = "export_ban"\nexporters = "CHN"'),
            words=("policy[0].exporters", "a list of one: ['CHN']"),
        ),
    ),
    Case(
        "selector empty list",
        **sim(
            scenario('type = "export_ban"\nexporters = []'),
            words=("policy[0].exporters", "selects no country"),
        ),
    ),
    Case(
        "policy products empty",
        **sim(
            scenario('type = "tariff"\nrate = 0.1\nproducts = []'),
            words=("policy[0].products", "leave the field out"),
        ),
    ),
    Case(
        "unknown country",
        **sim(
            scenario('type = "export_ban"\nexporters = ["CHM"]'),
            words=("policy[0].exporters", "unknown country", "did you mean"),
        ),
    ),
    Case(
        "unknown product",
        **sim(scenario(product='[[product]]\nid = "lithium_carbonat"\n'), words=("product[0].id",)),
    ),
    Case(
        "watch country inside the zone",
        **sim(
            scenario(zone='[zone]\nmembers = ["USA", "CAN"]\nwatch = ["USA", "CHN"]\n'),
            words=("zone.watch", "USA", "also zone members", "outside the zone"),
        ),
    ),
    # ---- a zone list that names one country or group twice: refused (a coalition would
    # count the member as two players); a country inside a listed group is fine
    Case(
        "zone member listed twice",
        **sim(
            scenario(zone='[zone]\nmembers = ["USA", "CAN", "usa "]\n'),
            words=("zone.members", "'usa ' is listed twice", "list each country or group once"),
        ),
    ),
    Case(
        "zone member by code and by name",
        **sim(
            scenario(zone='[zone]\nmembers = ["USA", "United States"]\n'),
            words=("zone.members", "'USA' and 'United States' name the same country (USA)"),
        ),
    ),
    Case(
        "watch country listed twice",
        **sim(
            scenario(zone='[zone]\nmembers = ["USA"]\nwatch = ["CHN", "CHN"]\n'),
            words=("zone.watch", "'CHN' is listed twice"),
        ),
    ),
    Case(
        "assess --members naming one group twice",
        ["assess", "--members", "EU,EU27"],
        words=("--members", "'EU' and 'EU27' name the same group"),
    ),
    Case(
        "zone member inside a listed group",
        **sim(
            scenario('type = "tariff"\nrate = 0.1', zone='[zone]\nmembers = ["EU27", "DEU"]\n'),
            code=0,
            absent=("listed twice", "name the same"),
        ),
    ),
    # ---- files: BOM, nesting, encoding, missing
    Case("BOM accepted", **sim("\ufeff" + scenario('type = "tariff"\nrate = 0.1'), code=0)),
    Case(
        "deeply nested TOML",
        **sim(
            'name = "x"\ndescription = ' + "[" * 3000 + "]" * 3000 + "\n",
            words=("nested too deeply",),
        ),
    ),
    Case(
        "nested a little too deep",
        **sim(
            scenario(head="description = " + "[" * 20 + "]" * 20 + "\n"),
            words=("'description", "nested more than 16 levels"),
        ),
    ),
    Case("empty file", **sim("", words=("'name'", "is required"))),
    Case("missing file", ["simulate", "{tmp}/nope.toml"], words=("does not exist",)),
    Case("scenario is a folder", ["simulate", "{tmp}"], words=("is a folder",)),
    # ---- a user's flows file: file, line and column
    Case(
        "flows empty cell",
        ["simulate", "{s}"],
        flows_case("exporter,importer,value_usd\nAAA,BBB,\nBBB,AAA,5\n"),
        words=("flows.csv line 2, column value_usd", "an empty cell"),
    ),
    Case(
        "flows with a misspelt column",
        ["simulate", "{s}"],
        flows_case("exporter,importer,value_usd,tarif\nAAA,BBB,5,0.5\nBBB,AAA,5,0.5\n"),
        words=("column(s) critmin does not read: tarif", "did you mean 'tariff'"),
    ),
    Case(
        "flows nan",
        ["simulate", "{s}"],
        flows_case("exporter,importer,value_usd\nAAA,BBB,5\nBBB,AAA,nan\n"),
        words=("flows.csv line 3, column value_usd", "'nan'"),
    ),
    Case(
        "flows 1e400",
        ["simulate", "{s}"],
        flows_case("exporter,importer,value_usd,tariff\nAAA,BBB,1e400,0\n"),
        words=("line 2, column value_usd", "'1e400'", "finite number"),
    ),
    Case(
        "flows tariff inf",
        ["simulate", "{s}"],
        flows_case("exporter,importer,value_usd,tariff\nAAA,BBB,4,0\n\nBBB,AAA,4,inf\n"),
        words=("line 4, column tariff", "'inf'"),
    ),
    Case(
        "flows missing code",
        ["simulate", "{s}"],
        flows_case("exporter,importer,value_usd\nAAA,BBB,5\n,BBB,5\n"),
        words=("line 3, column exporter", "3-letter"),
    ),
    Case(
        "flows all zero",
        ["simulate", "{s}"],
        flows_case("exporter,importer,value_usd\nAAA,BBB,0\n"),
        words=("no market",),
    ),
    Case(
        "flows code in policy.exporters",
        ["simulate", "{s}", "--json"],
        {
            "s.toml": scenario(
                'type = "export_ban"\nexporters = ["AAA"]', zone=USER_ZONE, product=USER_MARKET
            ),
            "flows.csv": GOOD_FLOWS,
        },
        code=0,
        words=('"banned":true',),
    ),
    # ---- legal input that does nothing: runs, with a visible warning
    Case(
        "quota above baseline",
        **sim(
            scenario('type = "export_quota"\nexporters = ["CHL"]\nshare_of_baseline = 1.5'),
            code=0,
            words=("warning: may have no effect: policy[0] (export_quota)", "150%"),
        ),
    ),
    Case(
        "ban by a non-exporter",
        **sim(
            scenario('type = "export_ban"\nexporters = ["ISL"]'),
            code=0,
            words=("warning: no effect: policy[0] (export_ban)", "ISL"),
        ),
    ),
    Case(
        "ban USA to USA",
        **sim(
            scenario('type = "export_ban"\nexporters = ["USA"]\nimporters = ["USA"]'),
            code=0,
            words=("no effect", "domestic sales are not exports"),
        ),
    ),
    Case(
        "ban all to all",
        **sim(
            scenario('type = "export_ban"\nexporters = "all"\nimporters = "all"'),
            code=0,
            words=("warning: cut off:", "no supplier", "undefined"),
        ),
    ),
    Case(  # an export cap of 0 is a ban: the buyers it leaves without supplier are named
        "export quota of 0 cuts buyers off",
        **sim(
            scenario(
                'type = "export_quota"\nexporters = "all"\nshare_of_baseline = 0',
            ),
            code=0,
            words=("warning: cut off:", "no supplier", "undefined"),
        ),
    ),
    Case(  # a sweep keeps every warning of its points (it kept the "no effect" ones only)
        "sweep keeps the cut-off warning",
        argv=["sweep", "{s}", "-p", "policy[0].share_of_baseline", "--values", "0,0.5"],
        files={
            "s.toml": scenario('type = "export_quota"\nexporters = "all"\nshare_of_baseline = 1')
        },
        code=0,
        words=("warning: lithium_carbonate: cut off:", "(at 0)"),
    ),
    Case(  # a long value is cut short in the message, as on the web (it came back whole)
        "a 10,000-character country code",
        **sim(
            scenario(zone=f'[zone]\nmembers = ["{"A" * 10_000}"]\nwatch = ["CHN"]\n'),
            words=("unknown country or group", "…' (10,000 characters)"),
        ),
    ),
    Case(
        "floor below the market",
        **sim(
            scenario('type = "price_floor"\nprice_usd_per_t = 100'),
            code=0,
            words=("may have no effect", "USD 100/t", "at or below"),
        ),
    ),
    Case(
        "subsidy floor below the market",
        **sim(
            scenario('type = "price_floor"\nmechanism = "producer_subsidy"\nprice_usd_per_t = 10'),
            code=0,
            words=("may have no effect", "zone producer"),
        ),
    ),
    Case(
        "tariff on pairs that do not trade",
        **sim(
            scenario('type = "tariff"\nexporters = ["ISL"]\nimporters = ["USA"]\nrate = 0.5'),
            code=0,
            words=("no effect", "do not trade"),
        ),
    ),
    Case(
        "markup in the scenario's name and a label is printed as text",
        **sim(
            scenario(
                'type = "tariff"\nrate = 0.1\nlabel = "[link=file:///etc/passwd]x[/link]"'
            ).replace('name = "bad input"', 'name = "[/bold] oops [red]"'),
            code=0,
            words=("[/bold] oops [red] (trade year", "Under “[/bold] oops [red]”"),
        ),
    ),
    Case(
        "an escape code in the scenario's name",
        **sim(
            scenario('type = "tariff"\nrate = 0.1').replace(
                'name = "bad input"', 'name = "red \\u001b[31m"'
            ),
            words=("scenario field 'name'", "control character"),
        ),
    ),
    Case(
        "a ban that does nothing, in the brief output of four products (one line for all)",
        **sim(
            scenario(
                'type = "export_ban"\nexporters = ["USA"]\nimporters = ["USA"]',
                product="".join(
                    f'[[product]]\nid = "{p}"\n'
                    for p in (
                        "lithium_carbonate",
                        "cobalt_oxides",
                        "gallium_germanium",
                        "permanent_magnets",
                    )
                ),
            ),
            code=0,
            words=("warning: every product: no effect: policy[0] (export_ban)",),
        ),
    ),
    Case(
        "a lower price floor under a higher one",
        **sim(
            scenario(
                'type = "price_floor"\nprice_usd_per_t = 15000',
                'type = "price_floor"\nprice_usd_per_t = 30000',
            ),
            code=0,
            words=(
                "no effect: policy[0] (price_floor): policy[1] (price_floor) also sets a price floor",
            ),
        ),
    ),
    Case(  # a policy given twice: the copy did nothing, in silence
        "the same price floor twice",
        **sim(
            scenario(*['type = "price_floor"\nprice_usd_per_t = 15000'] * 2),
            code=0,
            words=(
                "warning: no effect: policy[1] (price_floor): policy[0] (price_floor) also sets "
                "a price floor at the same level on every one of its pairs",
            ),
            absent=("no effect: policy[0]",),
        ),
    ),
    Case(
        "the same export quota twice",
        **sim(
            scenario(*['type = "export_quota"\nexporters = ["CHL"]\nshare_of_baseline = 0.6'] * 2),
            code=0,
            words=(
                "warning: no effect: policy[1] (export_quota): policy[0] (export_quota) also "
                "sets an export quota at the same level on every one of its exporters",
            ),
        ),
    ),
    Case(  # the higher subsidy floor applies: the lower one did nothing, in silence
        "a lower producer-subsidy floor under a higher one",
        **sim(
            scenario(
                'type = "price_floor"\nmechanism = "producer_subsidy"\nprice_usd_per_t = 15000',
                'type = "price_floor"\nmechanism = "producer_subsidy"\nprice_usd_per_t = 30000',
            ),
            code=0,
            words=(
                "warning: no effect: policy[0] (price_floor): policy[1] (price_floor) also sets "
                "a producer-subsidy floor on every one of its zone producers",
            ),
        ),
    ),
    Case(  # a levy and a subsidy are different instruments: both apply, no overlap
        "a variable levy and a producer subsidy at one price",
        **sim(
            scenario(
                'type = "price_floor"\nmechanism = "variable_levy"\nprice_usd_per_t = 15000',
                'type = "price_floor"\nmechanism = "producer_subsidy"\nprice_usd_per_t = 15000',
            ),
            code=0,
            absent=("not added up",),
        ),
    ),
    Case(  # the message named the tighter one twice: "policy[1] sets ..., and policy[1]'s"
        "a looser quota on the same exporter as a tighter one",
        **sim(
            scenario(
                'type = "export_quota"\nexporters = ["CHL"]\nshare_of_baseline = 0.8',
                'type = "export_quota"\nexporters = ["CHL"]\nshare_of_baseline = 0.5',
            ),
            code=0,
            words=(
                "warning: no effect: policy[0] (export_quota): policy[1] (export_quota) also "
                "sets an export quota on every one of its exporters, and its applies there",
            ),
        ),
    ),
    Case(
        "a looser quota beside a tighter one on the same exporter",
        **sim(
            scenario(
                'type = "export_quota"\nexporters = ["CHL"]\nshare_of_baseline = 0.5',
                'type = "export_quota"\nexporters = ["CHL", "ARG"]\nshare_of_baseline = 0.9',
            ),
            code=0,
            words=(
                "policy[1] (export_quota) and policy[0] (export_quota) both set an export quota on 1",
            ),
        ),
    ),
    Case(
        "a supply shock that all but removes the market",
        **sim(
            scenario() + '[[shock]]\ntype = "supply"\nchange = -0.9999999999\n',
            code=0,
            words=("warning: extreme: the consumer price of", "sign of collapse"),
        ),
    ),
    Case(  # a subsidy thousands of times the market price: output and prices far off
        "a producer subsidy far above the market",
        **sim(
            scenario('type = "price_floor"\nmechanism = "producer_subsidy"\nprice_usd_per_t = 1e8'),
            code=0,
            words=(
                "warning: extreme: the output of",
                "-fold",
                "warning: extreme: the consumer price of",
                "falls",
                "far beyond the market",
            ),
        ),
    ),
    Case(
        "a paths floor far above the market",
        argv=["paths", "{s}", "--draws", "0", "--years", "2025-2026", "--no-progress"],
        files={
            "s.toml": scenario()
            + '[paths]\nfloor_usd_per_t = 1e9\nmechanisms = ["variable_levy"]\n'
        },
        code=0,
        words=("warning: extreme: the floor USD 1,000,000,000/t is", "times the baseline"),
    ),
    Case(
        "a chain step on a product of a scenario that has none",
        **sim(
            'name = "c"\n[zone]\nmembers = ["USA"]\n[[chain]]\nid = "mine"\n'
            '[[chain.step]]\nproduct = "nope"\n',
            words=(
                "chain[0].step[0].product",
                "'nope' is not a product of the scenario (it has none: list the chain's "
                "products in [[product]])",
            ),
        ),
    ),
    Case(
        "a rule of origin without any chain",
        **sim(
            scenario(
                'type = "tariff"\nrate = 0.1',
                zone=ZONE + '[zone.origin]\nrule = "rvc"\nthreshold = 0.4\n',
            ),
            code=0,
            words=("no effect: zone.origin: a rule of origin applies to the processed stages",),
        ),
    ),
    Case(
        "a preferential cut with no baseline tariff",
        **sim(
            scenario('type = "tariff"\nrate = 0.1') + "[tariffs]\npreferential_cut = 0.5\n",
            code=0,
            words=("no effect: tariffs.preferential_cut: there is no baseline tariff",),
        ),
    ),
    Case(
        "a later tariff on every pair of an earlier one",
        **sim(
            scenario('type = "tariff"\nrate = 0.5', 'type = "tariff"\nrate = 0.1'),
            code=0,
            words=("no effect: policy[0] (tariff): policy[1] (tariff) sets the rate", "added up"),
        ),
    ),
    Case(
        "a later tariff on some pairs of an earlier one",
        **sim(
            scenario(
                'type = "tariff"\nrate = 0.5',
                'type = "tariff"\nexporters = ["CHN"]\nrate = 0.1',
            ),
            code=0,
            words=("policy[1] (tariff) replaces policy[0] (tariff)'s rate on", "traded pair"),
            absent=("no effect",),
        ),
    ),
    Case(
        "watch group overlapping the zone",
        **sim(
            scenario(zone='[zone]\nmembers = ["USA", "CAN", "JPN", "EU27"]\nwatch = ["G7"]\n'),
            code=0,
            words=("are zone members and are not counted as watch countries",),
        ),
    ),
    # ---- paths: checked before any work
    Case("--out a folder", ["simulate", "{ex}", "--out", "{tmp}"], words=("--out", "is a folder")),
    Case(
        "--out in /proc",
        ["simulate", "{ex}", "--out", "/proc/x.json"],
        words=("--out /proc/x.json", "cannot create a file"),
    ),
    Case(
        "--out under a file",
        ["simulate", "{ex}", "--out", "{s}/x.json"],
        {"s.toml": scenario()},
        words=("is a file, not a folder",),
    ),
    Case(
        "--out wrong suffix",
        ["simulate", "{ex}", "--out", "{tmp}/x.txt"],
        words=("must end in .json",),
    ),
    Case("report -o a folder", ["report", "{ex}", "-o", "{tmp}"], words=("is a folder",)),
    Case(
        "report -o pdf",
        ["report", "{ex}", "-o", "{tmp}/r.pdf"],
        words=("must end in .html or .htm",),
    ),
    Case(
        "uncertainty --draws-out a folder",
        ["uncertainty", "{ex}", "--draws-out", "{tmp}"],
        words=("--draws-out", "is a folder"),
    ),
    Case(
        "uncertainty --draws-out xlsx",
        ["uncertainty", "{ex}", "--draws-out", "{tmp}/d.xlsx"],
        words=("must end in .csv or .parquet", "'.xlsx'"),
    ),
    Case(
        "data check --source missing",
        ["data", "check", "--source", "/nonexistent"],
        words=("--source /nonexistent does not exist",),
    ),
    Case(
        "data check --source a folder without the BACI files",
        ["data", "check", "--source", "{tmp}"],
        words=("--source", "is not a source folder", "baci_2024_trade_with_qty.parquet"),
        absent=("PASS", "FAIL"),
    ),
    Case(
        "data check --source a file",
        ["data", "check", "--source", "{ex}"],
        words=("--source", "is a file: give a folder"),
    ),
    Case(
        "data check --reference a file",
        ["data", "check", "--reference", "{ex}"],
        words=("--reference", "is a file"),
    ),
    Case(
        "data build --source missing",
        ["data", "build", "--source", "{tmp}/none", "--out", "{tmp}/ref"],
        words=("--source", "does not exist"),
    ),
    Case("assess --zone missing", ["assess", "--zone", "{tmp}/z.toml"], words=("--zone",)),
    Case("serve --db a folder", ["serve", "--db", "{tmp}"], words=("--db", "is a folder")),
    # ---- outputs that overwrite each other or an input: refused before the work (the JSON
    # scenario was replaced by its results; two outputs on one path failed after the work,
    # paths's tables written and its page not; --csv beside flows.csv replaced the trade data)
    Case(
        "--out the JSON scenario itself",
        ["simulate", "{tmp}/s.json", "--out", "{tmp}/s.json"],
        {"s.json": JSON_LITHIUM},
        words=("--out", "is the scenario file: writing there would replace it"),
    ),
    Case(
        "simulate --out and --csv on one path",
        ["simulate", "{ex}", "--out", "{tmp}/x.json", "--csv", "{tmp}/x.json"],
        words=("--out", "and --csv", "name the same path"),
    ),
    Case(
        "paths --csv and --html on one path",
        ["paths", "{s}", "--csv", "{tmp}/d.html", "--html", "{tmp}/d.html"],
        {"s.toml": PATHS_SCENARIO},
        words=("and --csv", "name the same path"),
    ),
    Case(
        "simulate --csv into the folder of the flows file",
        ["simulate", "{s}", "--csv", "{tmp}"],
        flows_case(GOOD_FLOWS),
        words=("would write flows.csv there", "'product[0].flows'", "give another folder"),
    ),
    # ---- a file name longer than the file system allows (an internal error: ENAMETOOLONG)
    Case(
        "--out a name too long",
        ["simulate", "{ex}", "--out", "{tmp}/" + "a" * 300 + ".json"],
        words=("--out", "File name too long"),
    ),
    Case(
        "scenario file name too long",
        ["simulate", "{tmp}/" + "a" * 300 + ".toml"],
        words=("scenario file", "File name too long"),
    ),
    Case(
        "paths --csv under a folder name too long",
        ["paths", "{s}", "--csv", "{tmp}/" + "a" * 300 + "/d"],
        {"s.toml": PATHS_SCENARIO},
        words=("--csv", "File name too long"),
    ),
    Case(
        "--data a folder name too long",
        ["--data", "{tmp}/" + "a" * 300, "simulate", "{ex}"],
        words=("--data", "File name too long"),
    ),
    Case(
        "assess --comtrade a name too long",
        ["assess", "--view", "routing", "--comtrade", "{tmp}/" + "a" * 300 + ".csv"],
        words=("--comtrade", "File name too long"),
    ),
    Case(
        "sweep of a scenario file name too long",
        ["sweep", "{tmp}/" + "a" * 300 + ".toml", "-p", "policy[0].rate", "--values", "1"],
        words=("scenario file", "File name too long"),
    ),
    # ---- options: numbers in range
    Case("--top -3", ["simulate", "{ex}", "--top", "-3"], words=("--top",)),
    Case("--limit -1", ["data", "show", "production", "--limit", "-1"], words=("--limit",)),
    Case("--port 0", ["serve", "--port", "0"], words=("--port",)),
    Case("report --draws -1", ["report", "{ex}", "--draws", "-1"], words=("--draws",)),
    Case(
        "uncertainty --threshold nan",
        ["uncertainty", "{ex}", "--threshold", "nan"],
        words=("--threshold", "finite number", "nan"),
    ),
    Case(
        "uncertainty --coverage 0",
        ["uncertainty", "{ex}", "--coverage", "0"],
        words=("--coverage", "greater than 0"),
    ),
    Case(
        "uncertainty --scheduler malformed",
        ["uncertainty", "{ex}", "--scheduler", "nonsense"],
        words=("--scheduler must be an address", "'nonsense'"),
    ),
    Case(
        "uncertainty --reference typo",
        ["uncertainty", "{ex}", "--reference", "no-disruption"],
        words=("--reference", "did you mean 'no_disruption'"),
    ),
    Case(
        "data show --stage typo",
        ["data", "show", "production", "--stage", "mined"],
        words=("unknown stage 'mined'",),
    ),
    Case("uncertainty --draws 0", ["uncertainty", "{ex}", "--draws", "0"], words=("--draws",)),
    Case(
        "uncertainty --workers 0", ["uncertainty", "{ex}", "--workers", "0"], words=("--workers",)
    ),
    Case(
        "assess watch inside the zone",
        ["assess", "--members", "USA,CAN", "--watch", "USA"],
        words=("--watch", "also zone members"),
    ),
    Case(
        "assess watch group overlapping the zone",
        ["assess", "--minerals", "lithium", "--members", "USA,CAN,JPN", "--watch", "G7"],
        code=0,
        words=("CAN, JPN, USA are zone members and are not counted as watch countries",),
    ),
    # ---- a run that does not converge: says what failed and shows no numbers as results
    Case(
        "not converged",
        **sim(
            scenario(
                'type = "export_ban"\nexporters = ["CHN"]\nimporters = "all"',
                head="[defaults]\nsigma = 1.0001\ndemand_elasticity = 0\n",
            ),
            code=1,
            words=("NOT converged:", "No results are shown", "IRN"),
            absent=("Largest welfare changes", "Trade diversion", "#"),
        ),
    ),
    # ---- a .json scenario: a key given twice is refused (JSON kept the last one in silence),
    # and what the file holds instead of an object is said in JSON's words
    Case(
        "json scenario with a key given twice",
        ["simulate", "{tmp}/s.json"],
        {"s.json": JSON_LITHIUM.replace('{"name": "a"', '{"name": "a", "name": "b"')},
        words=("s.json gives the key 'name' twice in one object: keep one",),
    ),
    Case(
        "json scenario of null",
        ["simulate", "{tmp}/s.json"],
        {"s.json": "null"},
        words=("holds JSON null, not an object",),
        absent=("NoneType",),
    ),
    # ---- 'watch' is a list item: not suggested as the word it already is
    Case(
        "exporters = 'watch' as a word",
        **sim(
            scenario('type = "export_ban"\nexporters = "watch"'),
            words=("got 'watch' (a list of one: ['watch'])",),
            absent=("did you mean",),
        ),
    ),
    # ---- a user's flows file: one pair on two rows with two tariffs (the last one applied to
    # the sum in silence)
    Case(
        "flows with one pair at two tariffs",
        ["simulate", "{s}"],
        flows_case(
            "exporter,importer,value_usd,tariff\nAAA,BBB,100,0.1\nCCC,BBB,50,\n"
            "AAA,BBB,20,0.5\nBBB,BBB,80,\n"
        ),
        words=("flows.csv lines 2, 4: AAA -> BBB has the tariffs 0.1, 0.5", "one tariff"),
    ),
    Case(
        "flows with one pair on two rows at one tariff",
        ["simulate", "{s}"],
        flows_case(
            "exporter,importer,value_usd,tariff\nAAA,BBB,100,0.1\nCCC,BBB,50,\n"
            "AAA,BBB,20,0.1\nBBB,BBB,80,\n"
        ),
        code=0,
        absent=("error:",),
    ),
    # ---- the Comtrade file of --view routing: a folder is a folder; a value in words
    Case(
        "assess routing of a folder",
        ["assess", "--view", "routing", "--comtrade", "{tmp}"],
        words=("is a folder: give a UN Comtrade CSV file",),
        absent=("does not exist",),
    ),
    Case(
        "assess routing with a nan value",
        ["assess", "--view", "routing", "--comtrade", "{tmp}/c.csv"],
        {"c.csv": "reporter,partner,cmd,flow,value\n156,842,811292,X,nan\n"},
        words=("line 2: value 'nan' must be a finite amount",),
        absent=("np.float64",),
    ),
    # ---- a blank filter is not "every row" (it was shown in silence)
    Case(
        "data show with a blank --country",
        ["data", "show", "production", "--country", ""],
        words=("--country names nothing (got '')",),
    ),
    Case(
        "data show flows with a blank --exporter",
        ["data", "show", "flows", "--exporter", " , "],
        words=("--exporter names nothing",),
    ),
    Case(
        "assess nir with a blank --country",
        ["assess", "--view", "nir", "--country", ""],
        words=("--country names no country (got '')",),
    ),
    # ---- --data that is not there, or a file: said so (not 'no manifest.json')
    Case(
        "--data a missing folder",
        ["--data", "{tmp}/nope", "data", "info"],
        words=("nope: the folder does not exist",),
    ),
    Case(
        "--data a file",
        ["--data", "{s}", "data", "info"],
        {"s.toml": "x"},
        words=("s.toml is a file: give the folder of a dataset",),
    ),
    # ---- options that change nothing in this run warn (they were ignored in silence)
    Case(
        "simulate --indent without JSON",
        ["simulate", "{ex}", "--indent", "2"],
        code=0,
        words=("warning: no effect: --indent 2: no JSON is written",),
    ),
    Case(
        "uncertainty --indent without JSON",
        ["uncertainty", "{ex}", "--draws", "5", "--indent", "2", "--no-progress"],
        code=0,
        words=("warning: no effect: --indent 2",),
    ),
    Case(
        "report --seed without draws",
        ["report", "{ex}", "-o", "{tmp}/r.html", "--seed", "5"],
        code=0,
        words=("warning: no effect: --seed 5: there are no draws to seed",),
    ),
    Case(
        "paths --seed without draws",
        ["paths", "{s}", "--draws", "0", "--seed", "5", "--years", "2025-2026", "--no-progress"],
        {"s.toml": PATHS_SCENARIO},
        code=0,
        words=("warning: no effect: --seed 5: there are no draws to seed",),
    ),
    Case(
        "coalition --seed with exact Shapley values",
        ["coalition", "{s}", "--no-cache", "--sampled", "0", "--seed", "5", "--no-progress"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n'
        },
        code=0,
        words=("warning: no effect: --seed 5: the Shapley values are exact",),
    ),
    Case(
        "coalition --seed beyond 64 bits (the other commands cap it)",
        ["coalition", "{s}", "--no-cache", "--seed", str(2**64), "--no-progress"],
        {
            "s.toml": scenario(product='[[product]]\nid = "cobalt_oxides"\n')
            + '[coalition]\ncandidates = ["IDN"]\n'
        },
        code=2,
        words=("--seed",),
    ),
    # ---- a sweep range whose width is beyond float: said so (it was 'sweep value nan')
    Case(
        "sweep range too wide",
        ["sweep", "{ex}", "--param", "policy[0].price_usd_per_t", *SWEEP_TOO_WIDE],
        words=("the sweep range 1e+308 to -1e+308 is too wide to divide into 3 points",),
        absent=("sweep value nan",),
    ),
    # ---- an empty text field in the scenario's words (it was pydantic's "String should have
    # at least 1 character", where a blank one said "must not be blank")
    Case(
        "empty product id",
        **sim(
            scenario(product='[[product]]\nid = ""\n'),
            words=("'product[0].id': must not be empty",),
        ),
        absent=("String should",),
    ),
    # ---- assess options a view does not read are refused, as --edition and --stage were
    # (--year was ignored by criticality, the USGS filters by routing, in silence)
    Case(
        "assess criticality with --year",
        ["assess", "--view", "criticality", "--year", "2022"],
        words=("--year applies to the supply and nir views",),
    ),
    Case(
        "assess routing with USGS filters",
        [
            "assess",
            "--view",
            "routing",
            "--comtrade",
            "{tmp}/c.csv",
            "--minerals",
            "lithium",
            "--year",
            "2021",
        ],
        {"c.csv": "reporter,partner,cmd,flow,value\n156,842,811292,X,5\n"},
        words=("--minerals, --year apply to the USGS views, not to --view routing",),
    ),
]


def run(case: Case, tmp_path: Path) -> tuple[int, str, Any]:
    for name, text in case.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    subs = {"{s}": str(tmp_path / "s.toml"), "{tmp}": str(tmp_path), "{ex}": str(EXAMPLE)}
    argv = []
    for arg in case.argv:
        for key, value in subs.items():
            arg = arg.replace(key, value)
        argv.append(arg)
    res = CliRunner().invoke(app, argv)
    return res.exit_code, res.output, res.exception


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_gets_one_clear_message(case: Case, tmp_path: Path) -> None:
    code, output, exception = run(case, tmp_path)
    flat = " ".join(output.split())
    if case.id == "assess with a repeated stage":  # each row once
        assert flat.count("lithium,mine") == 1 and flat.count("cobalt,mine") == 1, output
    assert code == case.code, f"{case.id}: exit {code}\n{output}"
    assert exception is None or isinstance(exception, SystemExit), repr(exception)
    assert "Traceback" not in output and "internal error" not in output, output
    for words in case.words:
        assert words in flat, f"{case.id}: {words!r} not in\n{output}"
    for words in case.absent:
        assert words not in flat, f"{case.id}: {words!r} in\n{output}"
    if case.code == 2 and case.argv[0] in {"simulate", "report", "uncertainty"}:
        assert "error:" in flat or "Invalid value" in flat or "Usage:" in flat, output


def test_no_effect_warnings_are_in_the_json_notes(tmp_path: Path) -> None:
    """The readable warning and the JSON note are the same sentence."""
    case = Case(
        "ban by a non-exporter (json)",
        **sim(scenario('type = "export_ban"\nexporters = ["ISL"]'), "--json", code=0),
    )
    code, output, _ = run(case, tmp_path)
    assert code == 0, output
    notes = json.loads(output)["products"]["lithium_carbonate"]["notes"]
    assert any(n.startswith("no effect: policy[0] (export_ban)") and "ISL" in n for n in notes)


def test_a_scenario_without_instruments_warns_in_the_summary_json_and_report(
    tmp_path: Path,
) -> None:
    """simulate on a paths scenario (its [paths] and [[disruption]] are for other commands)
    shows the baseline: a warning says so in the summary, the JSON notes and the report."""
    paths = str(EXAMPLE.parent / "paths" / "lithium_floor_2026_2035.toml")
    said = "no effect: the scenario sets no instrument"
    res = CliRunner().invoke(app, ["simulate", paths])
    flat = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert f"warning: {said}" in flat and "so simulate shows its baseline" in flat
    assert "[paths] (critmin paths)" in flat and "[[disruption]] (critmin uncertainty" in flat
    res = CliRunner().invoke(app, ["simulate", paths, "--json"])
    notes = json.loads(res.stdout)["products"]["lithium_carbonate"]["notes"]
    assert res.exit_code == 0 and notes[0].startswith(said), notes
    res = CliRunner().invoke(app, ["report", paths, "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    assert said in (tmp_path / "r.html").read_text(encoding="utf-8")
    # and on the terminal of the report command, which printed only "wrote ..."
    assert f"warning: lithium_carbonate: {said}" in " ".join(res.output.split()), res.output
    res = CliRunner().invoke(app, ["simulate", str(EXAMPLE)])
    assert "sets no instrument" not in res.output


def test_repeated_sweep_values_are_a_warning_in_the_json_too() -> None:
    argv = ["sweep", str(EXAMPLE), "-p", "policy[0].price_usd_per_t", "--values", "1e4,2e4,1e4"]
    res = CliRunner().invoke(app, [*argv, "--json"])
    assert res.exit_code == 0, res.output
    warnings = json.loads(res.stdout)["warnings"]
    assert warnings == ["the values repeat (10000): those points give the same figures"]


def test_non_converged_json_is_marked(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == "not converged")
    case = Case(case.id, [*case.argv, "--json"], case.files, code=1)
    code, output, _ = run(case, tmp_path)
    assert code == 1, output
    data = json.loads(output[: output.rindex("}") + 1])
    product = data["products"]["lithium_carbonate"]
    assert data["converged"] is False and product["converged"] is False
    assert "IRN" in product["message"] and "#" not in product["message"]
    assert product["summary"]["zone_consumer_price_change_pct"] is None  # a buyer cut off
    assert any(n.startswith("numerical:") for n in product["notes"])


def test_internal_error_is_one_line_with_a_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug: one line saying so, the log file with the traceback, how to report it; exit 1.
    ``--debug`` shows the exception itself."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(critmin.simulation, "simulate", broken)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("CRITMIN_DEBUG", raising=False)
    res = CliRunner().invoke(app, ["simulate", str(EXAMPLE)])
    flat = " ".join(res.output.split())
    assert res.exit_code == 1, res.output
    assert "internal error: this is a bug in critmin" in flat and "KeyError" in flat
    assert "Traceback" not in res.output and "report it" in flat and "--debug" in flat
    logs = list((tmp_path / "state" / "critmin").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in "".join(res.output.split())
    text = logs[0].read_text()
    assert "Traceback" in text and "KeyError: 'a bug'" in text and "simulate" in text

    res = CliRunner().invoke(app, ["--debug", "simulate", str(EXAMPLE)])
    assert isinstance(res.exception, KeyError)


def test_runtime_warnings_become_one_diagnosis(monkeypatch: pytest.MonkeyPatch) -> None:
    """A numpy RuntimeWarning that reaches a command is printed as one diagnosis line after
    its figures; a command that ends in an error printed no figures, so it gets the error
    alone (the diagnosis said figures "are shown as '-'" where none were shown)."""
    import numpy as np

    real = critmin.simulation.simulate

    def noisy(*args: Any, **kwargs: Any) -> Any:
        np.float64(1e308) * 10  # overflow
        return real(*args, **kwargs)

    monkeypatch.setattr(critmin.simulation, "simulate", noisy)
    res = CliRunner().invoke(app, ["simulate", str(EXAMPLE)])
    flat = " ".join(res.output.split())
    assert res.exit_code == 0, flat
    assert "numerical warning: overflow encountered" in flat and "RuntimeWarning" not in flat

    def failing(*args: Any, **kwargs: Any) -> Any:
        np.float64(1e308) * 10
        raise critmin.errors.CritminError("stop here")

    monkeypatch.setattr(critmin.simulation, "simulate", failing)
    res = CliRunner().invoke(app, ["simulate", str(EXAMPLE)])
    flat = " ".join(res.output.split())
    assert res.exit_code == 2 and "error: stop here" in flat
    assert "numerical warning" not in flat


SWEEP_ONE = ["sweep", "{ex}", "-p", "policy[0].price_usd_per_t", "--values", "1e4"]
"""A sweep of one value (the options each case below adds are checked before it runs)."""


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ([*SWEEP_ONE, "-o", "{tmp}"], "is a folder"),
        ([*SWEEP_ONE, "--csv", "{tmp}/x.html"], "must end in .csv"),
        ([*SWEEP_ONE, "-o", "{tmp}/s.json"], "must end in .html"),
        ([*SWEEP_ONE, "--from", "1", "--to", "2"], "not both"),
        (["coalition", "{coal}", "-o", "{tmp}"], "is a folder"),
        (["coalition", "{coal}", "--html", "{tmp}/c.json"], "must end in .html"),
        (["coalition", "{coal}", "--scheduler", "bad"], "--scheduler must be an address"),
        (["coalition", "{coal}", "--cache-dir", "{ex}"], "is a file"),
        (["coalition", "{coal}", "--objective", ","], "--objective: no value given"),
        (["coalition", "{coal}", "--scope", "ZZZ=refine"], "--scope ZZZ: unknown country"),
        (["data", "show", "production", "--json", "--csv"], "one of --json and --csv"),
    ],
)
def test_paths_and_options_are_checked_before_the_work(
    argv: list[str], words: str, tmp_path: Path
) -> None:
    coal = str(EXAMPLE.parent / "coalition_core.toml")
    subs = {"{ex}": str(EXAMPLE), "{tmp}": str(tmp_path), "{coal}": coal}
    for key, value in subs.items():
        argv = [a.replace(key, value) for a in argv]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, res.output
    assert words in " ".join(res.output.split()) and "internal error" not in res.output
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_assess_says_when_there_is_nothing_to_rank() -> None:
    res = CliRunner().invoke(app, ["assess", "--minerals", "lithium", "--stage", "product"])
    assert res.exit_code == 0 and "warning: no supply figures for lithium" in res.output
    res = CliRunner().invoke(app, ["assess", "--minerals", ","])
    assert res.exit_code == 2 and "--minerals lists no mineral" in res.output


def test_an_interrupted_simulate_leaves_every_earlier_output_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the workbook is being made (the slow part): the earlier JSON and workbook
    stay, not a new JSON beside an old workbook."""
    import critmin.export

    def interrupted(_data: Any) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(critmin.export, "xlsx_bytes", interrupted)
    (tmp_path / "r.json").write_text("OLD")
    (tmp_path / "r.xlsx").write_text("OLDX")
    argv = ["simulate", str(EXAMPLE), "--out", str(tmp_path / "r.json")]
    res = CliRunner().invoke(
        app, [*argv, "--xlsx", str(tmp_path / "r.xlsx"), "--csv", str(tmp_path / "c")]
    )
    assert res.exit_code == 130, res.output
    assert (tmp_path / "r.json").read_text() == "OLD" and (
        tmp_path / "r.xlsx"
    ).read_text() == "OLDX"
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_a_quota_on_no_country_of_the_market_says_so_in_words() -> None:
    """A quota whose exporters are none of the market's countries read "none do not export"."""
    from critmin.baseline import bundled_baseline
    from critmin.scenario.no_effect import quota_notes
    from critmin.world import load_world

    base = bundled_baseline(load_world(2024), "lithium_carbonate")
    (note,) = quota_notes("policy[0]", base, np.zeros(base.n, dtype=bool), 0.5)
    assert note.startswith("no effect: policy[0]: none of the exporters it selects"), note


def test_a_buyer_cut_off_leaves_the_totals_it_enters_undefined_and_says_so() -> None:
    """Korea buys lithium carbonate only abroad: a ban of every exporter to it cuts it off.
    Its welfare is undefined, so are the zone's and the world's totals (not summed without
    it), while the outside total is defined; the warning says all of that."""
    import critmin

    data = {
        "name": "cut",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "lithium_carbonate"}],
        "policy": [{"type": "export_ban", "exporters": "all", "importers": ["KOR"]}],
    }
    product = critmin.simulate(data).to_dict()["products"]["lithium_carbonate"]
    summary = product["summary"]
    assert product["countries"]["KOR"]["welfare_change_usd"] is None
    assert summary["zone_welfare_change_usd"] is None
    assert summary["world_welfare_change_usd"] is None
    assert summary["outside_welfare_change_usd"] < 0
    (note,) = [n for n in product["notes"] if n.startswith("cut off:")]
    assert "(KOR)" in note and "so are the welfare totals that include them" in note


@pytest.mark.parametrize(
    ("module", "function", "argv"),
    [
        ("critmin.uncertainty", "run_uncertainty", ["uncertainty", str(EXAMPLE), "-n", "5"]),
        ("critmin.coalition", "run_coalition", COALITION_CLI),
    ],
)
def test_workers_with_a_scheduler_warn_no_effect(
    module: str, function: str, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--workers sizes the local pool; with --scheduler the cluster's workers solve, so it
    warns (it was ignored in silence). The run is stubbed: no cluster is contacted."""
    import importlib

    def stop(*args: Any, **kwargs: Any) -> Any:
        raise critmin.errors.CritminError("stub: not run")

    monkeypatch.setattr(importlib.import_module(module), function, stop)
    args = [*argv, "--scheduler", "tcp://127.0.0.1:1", "--workers", "3", "--no-progress"]
    res = CliRunner().invoke(app, args)
    flat = " ".join(res.output.split())
    assert "warning: no effect: --workers 3: the Dask cluster's workers solve" in flat, res.output
    assert "stub: not run" in flat and res.exit_code == 2, res.output
