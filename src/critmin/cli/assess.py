"""``critmin assess``: concentration, zone dependence, NIR and criticality views."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from critmin.cli.app import (
    app,
    err,
    escape,
    out,
    path_option,
    print_frame,
    user_errors,
    warn_no_effect,
)
from critmin.errors import CritminError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

    from critmin.assessment import AssessRecord

# ----------------------------------------------------------------------------- assess

ASSESS_VIEWS = ("supply", "nir", "criticality", "routing")
DEFAULT_YEAR = 2024
"""The production year of ``critmin assess`` without ``--year``."""


@app.command("assess")
@user_errors
def assess_cmd(
    minerals: str | None = typer.Option(
        None, help="Comma-separated mineral ids (default: every bundled mineral)."
    ),
    stage: str | None = typer.Option(None, help="mine, refine or product (comma-separated)."),
    year: int | None = typer.Option(
        None, help="Production year (2021-2025; default 2024). Supply and nir views."
    ),
    edition: str | None = typer.Option(
        None,
        help="USGS Mineral Commodity Summaries edition of the figures, e.g. MCS2025 (default: "
        "the newest that publishes the year).",
    ),
    members: str | None = typer.Option(
        None, help="Zone members: ISO3 codes and groups, comma-separated."
    ),
    zone: Path | None = path_option(
        None, help="Take the zone's members and watch countries from a scenario file."
    ),
    watch: str | None = typer.Option(
        None, help="Watch countries (outside the zone), comma-separated; needs a zone."
    ),
    view: str = typer.Option(
        "supply",
        help="supply (by mineral and stage), nir (net import reliance), criticality "
        "(EU SR building blocks) or routing (mirror gaps in a UN Comtrade file: --comtrade).",
    ),
    country: str | None = typer.Option(
        None, help="Country for --view nir (default USA: USGS salient statistics)."
    ),
    comtrade: Path | None = path_option(
        None,
        help="--view routing: a UN Comtrade CSV (reporter,partner,cmd,flow,value; M49 codes) "
        "whose exporter- and importer-reported flows are compared.",
    ),
    hs: str | None = typer.Option(None, help="--view routing: HS6 codes, comma-separated."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    wide: bool = typer.Option(
        False, "--wide", help="Every column, however wide (default: what fits the terminal)."
    ),
) -> None:
    """Rank minerals and stages by supply concentration, with the zone's self-sufficiency.

    With a zone: its self-sufficiency and the watch countries' share. --view nir: net import
    reliance; --view criticality: the EU supply-risk building blocks beside the official SR
    and EI; --view routing: exporter- against importer-reported flows of a UN Comtrade file
    (--comtrade), pairs where one side far exceeds the other (docs/controls.md)."""
    from critmin.assessment import (
        Zone,
        assess,
        check_edition,
        check_stages,
        criticality_records,
        criticality_view,
        nearest_trade_year,
        newest_edition,
        nir_view,
    )
    from critmin.world import load_world

    if as_json and as_csv:
        raise CritminError("choose one of --json and --csv")
    if wide and (as_json or as_csv):  # it was ignored in silence
        warn_no_effect("--wide", f"{'--json' if as_json else '--csv'} prints every field")
    view = view.strip().lower()
    if view not in ASSESS_VIEWS:
        raise CritminError(f"unknown view {view!r}: use {', '.join(ASSESS_VIEWS)}")
    if view != "supply" and (members or zone or watch):
        raise CritminError(f"--members, --zone and --watch apply to the supply view, not {view}")
    if country is not None and view != "nir":
        raise CritminError("--country applies to --view nir")
    if country is not None and not country.replace(",", " ").strip():  # blank is not USA
        raise CritminError(f"--country names no country (got {country!r}); leave it out for USA")
    if (comtrade is not None or hs is not None) and view != "routing":
        raise CritminError("--comtrade and --hs apply to --view routing")
    if view == "routing":  # a Comtrade file's mirror gaps: no USGS figures, nothing to filter
        given = {"--minerals": minerals, "--stage": stage, "--year": year, "--edition": edition}
        unused = [name for name, value in given.items() if value is not None]
        if unused:
            verb = "applies" if len(unused) == 1 else "apply"
            raise CritminError(
                f"{', '.join(unused)} {verb} to the USGS views, not to --view routing (it "
                "compares the --comtrade file's rows, filtered by --hs)"
            )
        _routing(comtrade, hs, as_json, as_csv)
        return
    if year is not None and view == "criticality":
        raise CritminError(
            "--year applies to the supply and nir views (the EU study's reference period, "
            "~2016-2020, is its own)"
        )
    year = DEFAULT_YEAR if year is None else year
    if watch and not (members or zone):
        raise CritminError("--watch needs a zone: give --members or --zone")
    if members and zone:
        raise CritminError("give the zone with --members or --zone, not both")
    if zone is not None:
        from critmin.util import check_input_file

        check_input_file(zone, "--zone")
    mineral_list = [m.strip() for m in minerals.split(",") if m.strip()] if minerals else None
    if minerals is not None and not mineral_list:
        raise CritminError(f"--minerals lists no mineral (got {minerals!r}); leave it out for all")
    if stage is not None and not _split(stage):
        raise CritminError(f"--stage lists no stage (got {stage!r}); leave it out for all")
    if members is not None and not _split(members):
        raise CritminError(
            f"--members lists no country (got {members!r}); give ISO3 codes or groups"
        )
    if stage is not None and view == "criticality":
        raise CritminError(
            "--stage applies to the supply and nir views (the EU study's stages are its own)"
        )
    stages = check_stages(stage.split(",")) if stage else None
    world = load_world(nearest_trade_year(year))
    if edition is not None and view == "criticality":
        raise CritminError("--edition applies to the supply and nir views (USGS figures)")
    ed = check_edition(world, edition, year)
    ed_text = (
        f"USGS {ed}" if ed else f"USGS: newest edition per figure ({newest_edition(world, year)})"
    )

    if view == "criticality":
        if as_json:
            crit = criticality_records(world, mineral_list)
            sys.stdout.write(json.dumps(crit, indent=1, allow_nan=False) + "\n")
            return
        frame = criticality_view(world, mineral_list)
        if as_csv:  # the sources of each row, as the JSON's records give them
            frame = _with_sources(frame, criticality_records(world, mineral_list))
        hidden: list[str] = []
        if not (as_json or as_csv):
            from critmin.summary import CRITICALITY_PRIORITY, criticality_table, fit_columns

            frame = criticality_table(frame)
            if not wide:
                frame, hidden = fit_columns(frame, out.width, CRITICALITY_PRIORITY)
        print_frame(
            frame,
            False,
            as_csv,
            "EU 2023 supply-risk building blocks HHI_WGI,t recomputed from the bundled EU "
            "shares, t and WGI, beside the EU's official SR and EI (2023)",
        )
        if hidden:
            out.print(
                f"[dim]hidden to fit {out.width} columns: {', '.join(hidden)} (--wide shows "
                "every column)[/]",
                highlight=False,
            )
        if not (as_json or as_csv):
            out.print(
                "[bold]Units:[/] top % and cov % in percent, HHI 0-10,000; HHI_WGI,t and the "
                "EU's SR and EI are indices (EU methodology); '-' = the EU study publishes no "
                "such figure for that material (e.g. no EU-sourcing shares). "
                "[bold]Sources:[/] European Commission, Study on the Critical Raw Materials for "
                "the EU 2023 (global and EU-sourcing shares, t, SR, EI; reference period "
                "~2016-2020); World Bank WGI (six-indicator mean, rescaled 0-10). The official "
                "SR also weighs import reliance, substitution and recycling at the bottleneck "
                "stage: compare, do not expect equality.",
                highlight=False,
            )
        return

    if view == "nir":
        records = nir_view(world, country or "USA", mineral_list, stages, year, edition=ed)
        if as_json:
            sys.stdout.write(json.dumps(records, indent=1, allow_nan=False) + "\n")
            return
        from critmin.summary import nir_table

        frame = nir_table(records)
        if as_csv:
            sys.stdout.write(_with_sources(frame, records).to_csv(index=False))
            return
        print_frame(
            frame, False, False, f"Net import reliance of {country or 'USA'}, {year} (%); {ed_text}"
        )
        _print_sources(records)
        return

    z: Zone | None = None
    if zone is not None or members:
        # the same rule as simulate (critmin.scenario.resolution.zone_lists): a watch group
        # keeps only its countries outside the zone (with a note); a watch country that is
        # also a member is an error
        from critmin.scenario.resolution import ZoneListError, zone_codes, zone_lists

        if zone is not None:
            from critmin.scenario import Scenario

            member_codes, watch_codes, dropped = zone_codes(world, Scenario.from_file(zone), set())
        else:
            try:
                member_codes, watch_codes, dropped = zone_lists(
                    world, _split(members), _split(watch)
                )
            except ZoneListError as e:
                raise CritminError(f"--{e.which}: {e.problem}") from None
        if dropped:
            err.print(
                f"[yellow]note:[/] {', '.join(dropped)} are zone members and are not counted "
                "as watch countries",
                highlight=False,
            )
        z = Zone(member_codes, watch_codes)
    records = assess(world, mineral_list, stages, year, z, edition=ed)
    if not records:  # legal, but nothing to show: say so rather than print an empty page
        err.print(
            f"[bold yellow]warning:[/] no supply figures for {escape(minerals or 'any mineral')} "
            f"at stage {escape(stage or 'any')} in {year}: nothing to rank (the stages with "
            "figures: mine, refine; products are in 'critmin data show products')",
            highlight=False,
        )
    if as_json:
        sys.stdout.write(json.dumps(records, indent=1, allow_nan=False) + "\n")
        return
    from critmin.summary import assess_table

    frame = assess_table(records, z is not None)
    if as_csv:
        sys.stdout.write(_with_sources(frame, records).to_csv(index=False))
        return
    title = (
        f"Supply concentration by mineral and stage, {year} (most concentrated first; shares in "
        f"%); {ed_text}"
    )
    if z is not None:
        title += f"; zone of {len(z.members)} countries" + (
            f", watch {', '.join(z.watch)}" if z.watch else ""
        )
    hidden = []
    if not wide:
        from critmin.summary import fit_columns

        frame, hidden = fit_columns(frame, out.width)
    print_frame(frame, False, False, title)
    if hidden:
        out.print(
            f"[dim]hidden to fit {out.width} columns: {', '.join(hidden)} "
            "(--wide shows every column; --csv and --json every field)[/]",
            highlight=False,
        )
    out.print(
        "[bold]supply[/]: USGS = production of the year; EU = EU CRM 2023 shares (~2016-2020); "
        "BACI = exporters' shares of world exports.  [bold]cov[/]: share of the world total the "
        "named figures account for.",
        highlight=False,
    )
    if z is not None:
        out.print(
            "[bold]self-suff. / watch[/]: share of the zone's demand met inside the zone / by the "
            "watch countries. [bold]basis[/] trade = the traded product at that stage (BACI + "
            "calibrated domestic sales, by value); proxy = zone output / zone demand one stage "
            "down (element tonnes, capped at 100%; outside supply split by output); share = the "
            "zone's share of world supply / its share of world demand for the mineral's nearest "
            "traded product downstream (capped at 100%) - proxies, not trade figures; '-' = no basis (see "
            "--json zone_reason). [bold]zcov[/]: share of "
            "zone demand that is measured rather than estimated. [bold]GPR[/]: the zone's "
            "GeoPolRisk (trade basis).",
            highlight=False,
        )
        for r in records:
            if r.get("zone_basis") is None and r.get("zone_reason"):
                note = str(r["zone_reason"])
                out.print(
                    f"  no zone figure for {r['mineral']} {r['stage']}: {note}", highlight=False
                )
    _print_sources(records)


def _split(items: str | None) -> list[str]:
    return [s.strip() for s in (items or "").replace(";", ",").split(",") if s.strip()]


def _print_sources(records: list[AssessRecord]) -> None:
    from critmin.assessment import source_summary

    out.print("[bold]Sources[/] (each record's own in --json 'sources'):", highlight=False)
    for line in source_summary(records):
        out.print(f"  {line}", highlight=False)


def _with_sources(frame: pd.DataFrame, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``frame`` (one row per record, in order) with each record's USGS ``edition`` and its
    ``sources`` (`` | ``-separated) as the last columns: a CSV row states where its figures
    come from, as the JSON record and the terminal's sources lines do."""
    return frame.assign(
        edition=[r.get("edition") or "" for r in records],
        sources=[" | ".join(r.get("sources") or []) for r in records],
    )


def _routing(comtrade: Path | None, hs: str | None, as_json: bool, as_csv: bool) -> None:
    """--view routing: mirror gaps flagged as possible indirect routing."""
    import pandas as pd

    from critmin.assessment.routing import (
        ROUTING_COLUMNS,
        mirror_gaps,
        read_comtrade,
        unknown_m49,
    )

    if comtrade is None:
        raise CritminError(
            "--view routing needs --comtrade FILE: a UN Comtrade CSV with both exporter- and "
            "importer-reported rows (critmin ships none: Comtrade's terms forbid it)"
        )
    codes = _split(hs) if hs else None
    bad = [c for c in codes or [] if not (len(c) == 6 and c.isdigit())]
    if bad or (hs is not None and not codes):
        raise CritminError(f"--hs: expected six-digit HS codes such as 811292, got {hs!r}")
    frame_in = read_comtrade(comtrade)
    if codes:
        present = set(frame_in["cmd"].astype(str).str.zfill(6))
        absent = [c for c in codes if c not in present]
        if absent:
            err.print(
                f"[bold yellow]warning:[/] --hs {', '.join(absent)}: no row of {comtrade.name} "
                "has that code",
                highlight=False,
            )
    unknown = unknown_m49(frame_in)
    if unknown:
        shown = ", ".join(map(str, unknown[:8])) + (" ..." if len(unknown) > 8 else "")
        err.print(
            f"[bold yellow]warning:[/] {len(unknown)} reporter or partner code(s) of "
            f"{escape(comtrade.name)} are no M49 country code critmin knows ({shown}): their "
            "rows are left out",
            highlight=False,
        )
    records = mirror_gaps(frame_in, codes)
    if as_json:
        sys.stdout.write(json.dumps(records, indent=1, allow_nan=False) + "\n")
        return
    frame = pd.DataFrame(records, columns=list(ROUTING_COLUMNS))
    print_frame(
        frame,
        False,
        as_csv,
        f"Mirror gaps in {comtrade.name}: importer- vs exporter-reported value (ratio >= 2 "
        "either way, gap >= USD 1 million)",
    )
