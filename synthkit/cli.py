"""`synthkit …` — the command line. Thin: parses, calls the library, prints.

Errors a user can cause are printed as one line (``error: …``) with exit status 2; no
output file is left half-written.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from synthkit import __version__
from synthkit.errors import SynthkitError

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)


class _Group(click.Group):
    """A click group that turns user errors into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SynthkitError as exc:
            console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            sys.exit(2)
        except KeyboardInterrupt:
            console.print("interrupted")
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="synthkit")
def cli() -> None:
    """synthkit: explainable synthetic tables for finance.

    \b
    Start with the built-in simulated credit data:
      synthkit datasets credit -o credit.csv
      synthkit schema credit.csv --check-encoding
    """


# ---------------------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------------------


@cli.group()
def datasets() -> None:
    """Built-in data sets, generated on this machine (nothing is downloaded)."""


@datasets.command("credit")
@click.option("-n", "--rows", "n_rows", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Number of rows (customers).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file for the 19 features.")
@click.option("--factors", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Optional CSV file for the 11 ground-truth factors, row-aligned with the features.")
def datasets_credit(n_rows: int, seed: int, output: Path, factors: Path | None) -> None:
    """Simulated credit-bureau data of the MS-VAE paper (§6.2): 19 features from 11 factors."""
    from synthkit.datasets import simulate_credit
    from synthkit.tabular.io import write_table

    start = time.perf_counter()
    with console.status(f"generating {n_rows:,} rows"):
        features, truth = simulate_credit(n_rows=n_rows, seed=seed)
        write_table(features, output)
        if factors is not None:
            write_table(truth, factors)
    console.print(
        f"wrote {len(features):,} rows × {features.shape[1]} features to {output}"
        + (f" and {truth.shape[1]} factors to {factors}" if factors else "")
        + f" (seed {seed}, {time.perf_counter() - start:.1f} s)"
    )


# ---------------------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--metadata", type=click.Path(path_type=Path), default=None,
              help="JSON/YAML file overriding column kinds (synthkit or SDV metadata format).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the schema as JSON (usable later as --metadata).")
@click.option("--check-encoding", is_flag=True,
              help="Also fit the reversible transformer and check that transform → inverse restores the data.")
@click.option("--transformer", type=click.Choice(["mode_specific", "minmax_log"]), default="mode_specific",
              show_default=True, help="Transformer for --check-encoding (minmax_log: the paper's §6.2 pre-processing).")
def schema(data: Path, metadata: Path | None, output: Path | None, check_encoding: bool, transformer: str) -> None:
    """Infer and print the column schema of a CSV file."""
    from synthkit.tabular.io import read_table, write_text
    from synthkit.tabular.schema import describe_schema, infer_schema, load_metadata

    declared = load_metadata(metadata) if metadata is not None else None
    with console.status(f"reading {data}"):
        df = read_table(data)
    with console.status("inferring column kinds"):
        sch = infer_schema(df, declared)
    table = Table(title=f"{data} — {len(df):,} rows × {df.shape[1]} columns", title_justify="left")
    for col in ("column", "kind", "unique", "missing", "details"):
        table.add_column(col, overflow="fold", justify="right" if col in ("unique", "missing") else "left")
    for row in describe_schema(sch):
        table.add_row(*row.values())
    out.print(table)
    if check_encoding:
        _check_encoding(df, sch, transformer)
    if output is not None:
        write_text(sch.to_json() + "\n", output)
        console.print(f"schema saved to {output}")


def _check_encoding(df: Any, sch: Any, transformer_name: str) -> None:
    """Fit the transformer, round-trip the data and print per-column fidelity."""
    from synthkit.tabular.roundtrip import roundtrip_report
    from synthkit.tabular.transformer import build_transformer

    tr = build_transformer(transformer_name, sch)
    t0 = time.perf_counter()
    with console.status(f"fitting the {transformer_name} transformer"):
        tr.fit(df)
    t1 = time.perf_counter()
    with console.status("transform → inverse"):
        encoded = tr.transform(df)
        back = tr.inverse_transform(encoded)
    t2 = time.perf_counter()
    report = roundtrip_report(df, back, sch)
    table = Table(
        title=f"{transformer_name}: {encoded.shape[1]} model columns; fit {t1 - t0:.2f} s, "
        f"transform + inverse {t2 - t1:.2f} s",
        title_justify="left",
    )
    for col in ("column", "encoding", "round trip"):
        table.add_column(col, overflow="fold")
    encodings = {r["column"]: f"{r['encoding']} ({r['width']} wide)" for r in tr.describe()}
    for row in report:
        table.add_row(row["column"], encodings.get(row["column"], ""), row["result"])
    out.print(table)


def main() -> None:
    """Entry point of the `synthkit` console script."""
    cli(prog_name="synthkit")


if __name__ == "__main__":
    main()
