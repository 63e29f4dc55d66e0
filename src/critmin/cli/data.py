"""``critmin data ...``: list, show, sources, check, build and schema of the dataset."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from critmin.cli.app import data_app, err, out, print_frame, user_errors

# ----------------------------------------------------------------------------- data


@data_app.command("list")
@user_errors
def data_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Minerals, stages, products, years and country groups in the bundled data."""
    from critmin.assessment.tables import TABLE_NAMES
    from critmin.catalog import STAGES
    from critmin.world import load_world, trade_years

    world = load_world()
    supply_years = sorted(int(y) for y in world.supply_all_editions["year"].unique())
    info: dict[str, Any] = {
        "minerals": world.minerals,
        "stages": list(STAGES),
        "products": world.products[["product_id", "hs6", "mineral", "stage", "name"]].to_dict(
            "records"
        ),
        "trade_years": trade_years(),
        "supply_years": supply_years,
        "editions": sorted(world.supply_all_editions["edition"].unique()),
        "groups": {
            g: {"name": str(sub["name"].iloc[0]), "members": len(sub)}
            for g, sub in world.groups.groupby("group_id")
        },
        "tables": TABLE_NAMES,
    }
    if as_json:
        sys.stdout.write(json.dumps(info, indent=1) + "\n")
        return
    out.print(f"[bold]Minerals[/] ({len(info['minerals'])}): " + ", ".join(info["minerals"]))
    out.print("[bold]Stages[/]: mine, refine, product")
    out.print(
        f"[bold]Trade years[/]: {info['trade_years']}   [bold]Supply years[/]: {supply_years}"
        f"   [bold]Editions[/]: {', '.join(info['editions'])}"
    )
    print_frame(
        world.products[["product_id", "hs6", "mineral", "stage", "name"]],
        False,
        False,
        "Products (HS6)",
    )
    import pandas as pd

    groups = pd.DataFrame(
        [
            {"group": g, "name": v["name"], "members": v["members"]}
            for g, v in info["groups"].items()
        ]
    )
    print_frame(groups, False, False, "Country groups (usable wherever a country list is)")
    out.print("Tables for 'critmin data show': " + ", ".join(info["tables"]))


@data_app.command("show")
@user_errors
def data_show(
    table: str = typer.Argument(..., help="production, reserves, supply, flows, wgi, ..."),
    mineral: str | None = typer.Option(None, help="Mineral id, e.g. lithium."),
    year: int | None = typer.Option(None, help="Data year."),
    stage: str | None = typer.Option(None, help="mine | refine | product."),
    country: str | None = typer.Option(None, help="ISO3 codes or groups, comma-separated."),
    product: str | None = typer.Option(None, help="Product id or HS6 code (flows)."),
    exporter: str | None = typer.Option(None, help="Exporters (flows): codes or groups."),
    importer: str | None = typer.Option(None, help="Importers (flows): codes or groups."),
    group: str | None = typer.Option(None, help="Group id (groups table)."),
    all_editions: bool = typer.Option(False, "--all-editions", help="Every edition's value."),
    limit: int = typer.Option(200, help="At most this many rows (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Show a bundled table, filtered. Example: critmin data show production --mineral lithium --year 2024"""
    from critmin.assessment.tables import show_table

    df, title = show_table(
        table,
        mineral=mineral,
        year=year,
        stage=stage,
        country=country,
        product=product,
        exporter=exporter,
        importer=importer,
        group=group,
        all_editions=all_editions,
    )
    if limit and len(df) > limit:
        title += f" (first {limit} of {len(df)} rows; --limit 0 for all)"
        df = df.head(limit)
    print_frame(df, as_json, as_csv, title)


@data_app.command("sources")
@user_errors
def data_sources(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Provenance of every bundled table: publisher, edition, DOI/URL, licence, transformations."""
    from critmin.world import read_manifest

    manifest = read_manifest()
    if as_json:
        sys.stdout.write(json.dumps(manifest["tables"], indent=1) + "\n")
        return
    out.print(f"Reference dataset built {manifest['built']}\n")
    for name, entry in manifest["tables"].items():
        out.print(f"[bold]{name}[/] ({entry['rows']:,} rows): {entry['row']}")
        for p in entry["provenance"]:
            out.print(f"  {p['publisher']}: {p['title']} [{p['edition']}]")
            out.print(f"    {p['doi_or_url']} — licence: {p['licence']}")
        for t in entry["transformations"]:
            out.print(f"    · {t}")
        out.print()


@data_app.command("check")
@user_errors
def data_check(
    source: Path | None = typer.Option(
        None, help="Also compare flow totals with the BACI files in this source folder."
    ),
    reference: Path | None = typer.Option(None, help="Check this reference folder instead."),
) -> None:
    """Verify hashes, row counts, columns and published totals; exit 1 on any failure."""
    from critmin.data.check import run_checks
    from critmin.world import REFERENCE_DIR

    results = run_checks(reference or REFERENCE_DIR, source)
    for r in results:
        mark = "[green]PASS[/]" if r.ok else "[bold red]FAIL[/]"
        out.print(f"{mark} {r.name}: {r.detail}", highlight=False)
    failed = [r for r in results if not r.ok]
    if failed:
        err.print(f"[bold red]{len(failed)} check(s) failed[/]")
        raise typer.Exit(1)
    out.print(f"[green]all {len(results)} checks passed[/]")


@data_app.command("build")
@user_errors
def data_build(
    source: Path = typer.Option(Path("../shared/data"), help="Folder of the source releases."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write here instead of the package."),
) -> None:
    """Compile the bundled reference dataset from the source releases."""
    from critmin.data.build import REFERENCE_DIR, build

    manifest = build(source, out_dir or REFERENCE_DIR, log=lambda m: err.print(f"[dim]{m}[/]"))
    for name, entry in manifest["tables"].items():
        out.print(f"{name:18s} {entry['rows']:>8,} rows  {entry['sha256'][:12]}")


@data_app.command("schema")
@user_errors
def data_schema(
    markdown: bool = typer.Option(False, "--markdown", help="Markdown for docs."),
) -> None:
    """Columns, units and meaning of every bundled table."""
    from critmin.data.schema import DOC_FOOTER, TABLES

    if markdown:
        lines = ["# Bundled tables", "", "Generated by `critmin data schema --markdown`.", ""]
        for t in TABLES.values():
            lines += [
                f"## {t.name}",
                "",
                f"One row: {t.row}.",
                "",
                "| column | type | unit | meaning |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {c.name} | {c.dtype} | {c.unit} | {c.description.replace('|', chr(92) + '|')} |"
                for c in t.columns
            ]
            lines.append("")
        sys.stdout.write("\n".join(lines) + "\n" + DOC_FOOTER)
        return
    import pandas as pd

    for t in TABLES.values():
        df = pd.DataFrame([c.__dict__ for c in t.columns])
        print_frame(df, False, False, f"{t.name}: {t.row}")
