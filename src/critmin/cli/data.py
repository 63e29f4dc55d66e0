"""``critmin data ...``: list, show, sources, check, build and schema of the dataset."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from critmin.cli.app import data_app, err, out, path_option, print_frame, user_errors
from critmin.errors import CritminError

if TYPE_CHECKING:
    import pandas as pd

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
    products = world.products[["product_id", "hs6", "mineral", "stage", "name"]].assign(
        basis=world.products["product_id"].map(world.flow_basis()).fillna("none")
    )
    info: dict[str, Any] = {
        "minerals": world.minerals,
        "stages": list(STAGES),
        "chains": chain_listing(products),
        "products": products.to_dict("records"),
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
    out.print("[bold]Stages[/]: " + ", ".join(info["stages"]))
    out.print(
        f"[bold]Trade years[/]: {info['trade_years']}   [bold]Supply years[/]: {supply_years}"
        f"   [bold]Editions[/]: {', '.join(info['editions'])}"
    )
    print_frame(products, False, False, "Products (HS6; basis of their flows)")
    out.print("[bold]Chains[/] (steps in order; 'critmin data list --json' for details):")
    for chain in info["chains"]:
        steps = " -> ".join(
            f"{s['stage']}: " + "/".join(p["hs6"] for p in s["products"]) for s in chain["steps"]
        )
        out.print(f"  {chain['chain']:18s} {steps}", highlight=False)
    import pandas as pd

    groups = pd.DataFrame(
        [
            {"group": g, "name": v["name"], "members": v["members"]}
            for g, v in info["groups"].items()
        ]
    )
    print_frame(groups, False, False, "Country groups (usable wherever a country list is)")
    out.print("Tables for 'critmin data show': " + ", ".join(info["tables"]))


def chain_listing(products: pd.DataFrame) -> list[dict[str, Any]]:
    """Each chain with its steps, and each step's products with hs6, stage, mineral, basis."""
    from critmin.catalog import chains

    by_id = products.set_index("product_id")
    listing = []
    for chain in chains().values():
        steps = []
        for step in chain.steps:
            items = [
                {
                    "product_id": pid,
                    "hs6": str(by_id.at[pid, "hs6"]),
                    "stage": str(by_id.at[pid, "stage"]),
                    "mineral": str(by_id.at[pid, "mineral"]),
                    "basis": str(by_id.at[pid, "basis"]),
                }
                for pid in step.product_ids
            ]
            steps.append(
                {
                    "step": step.step,
                    "stage": step.stage,
                    "input_coefficient": step.input_coefficient,
                    "source": step.source,
                    "products": items,
                }
            )
        listing.append({"chain": chain.id, "mineral": chain.mineral, "steps": steps})
    return listing


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
    limit: int = typer.Option(200, min=0, help="At most this many rows (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Show a bundled table, filtered. Example: critmin data show production --mineral lithium --year 2024"""
    from critmin.assessment import check_stages
    from critmin.assessment.tables import show_table

    if as_json and as_csv:
        raise CritminError("choose one of --json and --csv")
    filters = {
        "--mineral": mineral,
        "--stage": stage,
        "--country": country,
        "--product": product,
        "--exporter": exporter,
        "--importer": importer,
        "--group": group,
    }
    for option, given in filters.items():  # a blank filter would show every row in silence
        if given is not None and not given.replace(";", ",").replace(",", " ").strip():
            raise CritminError(f"{option} names nothing (got {given!r}); leave it out for all rows")
    if stage is not None:
        check_stages([stage])
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
    source: Path | None = path_option(
        None, help="Also compare flow totals with the BACI files in this source folder."
    ),
    reference: Path | None = path_option(None, help="Check this reference folder instead."),
) -> None:
    """Verify hashes, row counts, columns and published totals; exit 1 on any failure."""
    from critmin.data.check import check_source_dir, run_checks
    from critmin.util import check_input_dir

    if source is not None:
        check_source_dir(source, "--source")
    if reference is not None:
        check_input_dir(reference, "--reference")
        if not (reference / "manifest.json").is_file():
            raise CritminError(
                f"--reference {reference}: no dataset there (no manifest.json); give a folder "
                "that 'critmin data build' wrote"
            )
    results = run_checks(reference, source)
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
    source: Path = path_option(Path("../shared/data"), help="Folder of the source releases."),
    baci: Path | None = path_option(
        None,
        "--baci",
        help="A CEPII BACI release (BACI_HS17_V202601.zip or its folder): build your own dataset "
        "with its observed flows.",
    ),
    all_products: bool = typer.Option(
        False, "--all-products", help="With --baci: keep every HS6 code, not only the catalog's."
    ),
    out_dir: Path | None = path_option(
        None,
        "--out",
        help="Write here (default: the package's folder; with --baci the user data folder).",
    ),
) -> None:
    """Compile the reference dataset from the source releases, or your own from a BACI release."""
    from critmin.util import check_input_dir, check_output_dir

    log = lambda m: err.print(f"[dim]{m}[/]", highlight=False)  # noqa: E731
    if baci is not None:
        from critmin.data.dataset import user_data_dir
        from critmin.data.ingest import build_from_baci, check_out_dir
        from critmin.util import check_input_path

        check_input_path(baci, "--baci")
        target = check_out_dir(out_dir or user_data_dir(), baci)
        manifest = build_from_baci(baci, target, all_products=all_products, log=log)
    else:
        if all_products:
            raise CritminError("--all-products needs --baci (a full BACI release)")
        from critmin.data.build import REFERENCE_DIR, build

        check_input_dir(source, "--source")
        check_output_dir(out_dir or REFERENCE_DIR, "--out")
        written, releases = (os.path.realpath(p) for p in (out_dir or REFERENCE_DIR, source))
        if written == releases or written.startswith(releases.rstrip(os.sep) + os.sep):
            raise CritminError(
                f"--out {out_dir or REFERENCE_DIR} is within --source {source}: the build would "
                "write its tables among the source releases; give a folder of its own"
            )
        manifest = build(source, out_dir or REFERENCE_DIR, log=log)
    for name, entry in manifest["tables"].items():
        out.print(f"{name:18s} {entry['rows']:>10,} rows  {entry['sha256'][:12]}")


@data_app.command("info")
@user_errors
def data_info(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Which dataset is in use and what it was built from.

    The dataset is --data, else $CRITMIN_DATA, else your own build, else the bundled one."""
    from critmin.data.ingest import describe

    info = describe()
    if as_json:
        sys.stdout.write(json.dumps(info, indent=1) + "\n")
        return
    out.print(f"[bold]Dataset in use[/]: {info['dataset']} ({info['in_use_because']})")
    out.print(f"Built {info['built']}; trade years {info['trade_years']}")
    src = info["built_from"]
    out.print(f"Built from: {src['kind']}")
    for key in ("path", "hs", "release", "years", "products", "base_dataset"):
        if key in src:
            out.print(f"  {key}: {src[key]}")
    for pub in src.get("publications", []):
        out.print(f"  {pub}")
    basis = ", ".join(f"{k} {v:,}" for k, v in info["flows_by_basis"].items())
    out.print(f"Flows by basis: {basis or 'none'}")
    if not info["trade_years"]:
        err.print(
            "[bold yellow]warning:[/] this dataset has no trade flows: nothing can be simulated "
            "with it ('critmin data check' compares it with its manifest)",
            highlight=False,
        )


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
