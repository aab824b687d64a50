"""MLflow tracking of fits, and attaching reports to a fit's run.

Every :meth:`Synthesizer.fit <synthkit.tabular.synthesizer.Synthesizer.fit>` is an MLflow run
unless told otherwise:

    synth.fit(df)                                   # tracked: MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db
    synth.fit(df, track=False)                      # not tracked
    synth.fit(df, track="http://mlflow.internal:5000")
    synth.fit(df, track=Tracking(experiment="credit", source="credit.csv", register="credit-msvae"))
    synth.summary["mlflow_run_id"]                  # the run, also saved in the model folder
    log_report(run_id, "report/")                   # attach an evaluation or interpretability report

A run records the parameters (method and trainer config, transformer, seed, data fingerprint,
rows and columns), each stage's per-epoch losses (``stage1/train/loss``, step = epoch counted
from 1, logged in batches), the final figures (fit seconds, epochs run, best validation
losses), the schema, the saved model folder (``synthkit_model/``) and an MLflow pyfunc model
(``model``) that `mlflow models serve` and `synthkit serve` can serve; ``register`` also puts
it in the model registry. `SYNTHKIT_TRACKING=off` turns the default off (an explicit `track`
argument still wins).

Tracking never costs the fitted model: when MLflow fails (a server that does not answer, a
locked database), fit emits a :class:`TrackingWarning` and carries on. MLflow is imported only
when a run starts, so ``import synthkit`` stays fast.

Where the store is, MLflow's noise, experiments and the loss-record callback are track-neutral
and live in :mod:`synthkit.core.tracking` (the image track records its fits through it too);
they are re-exported here under their old names.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthkit.core.tracking import (  # the track-neutral part, shared with the image track
    DEFAULT_EXPERIMENT,
    DEFAULT_TRACKING_URI,
    ENV_SWITCH,
    FLUSH_SECONDS,
    MetricBuffer,
    TrackingWarning,
    quiet_mlflow,
    resolve_tracking_uri,
    tracking_on_by_default,
    use_tracking_uri,
)
from synthkit.core.tracking import check_reachable as _check_reachable
from synthkit.core.tracking import experiment_id as _experiment_id
from synthkit.core.tracking import metric_key as _metric_key
from synthkit.core.tracking import one_line as _one_line
from synthkit.core.tracking import same_store as _same_store
from synthkit.core.tracking import warn as _warn
from synthkit.errors import SynthkitError

if TYPE_CHECKING:
    import pandas as pd

    from synthkit.tabular.synthesizer import Synthesizer

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_TRACKING_URI",
    "ENV_SWITCH",
    "FLUSH_SECONDS",
    "MetricBuffer",
    "Tracking",
    "TrackingWarning",
    "log_report",
    "model_run",
    "quiet_mlflow",
    "resolve_tracking_uri",
    "settings_for",
    "tracked_fit",
    "use_tracking_uri",
]


@dataclass
class Tracking:
    """Where and how a fit is tracked (every field optional)."""

    #: Tracking URI. None: MLFLOW_TRACKING_URI, else :data:`DEFAULT_TRACKING_URI`.
    uri: str | None = None
    #: Experiment name. None: MLFLOW_EXPERIMENT_NAME (or _ID), else :data:`DEFAULT_EXPERIMENT`.
    experiment: str | None = None
    #: Run name. None: "<method> · <source> · <rows>×<columns>".
    run_name: str | None = None
    #: Where the data came from (a file name, "built-in credit data"), for the run name and tags.
    source: str | None = None
    #: Register the pyfunc model in the model registry under this name.
    register: str | None = None
    #: Log the pyfunc model (and the model folder). Off: parameters, metrics and schema only.
    log_model: bool = True
    #: Extra run tags.
    tags: dict[str, str] = field(default_factory=dict)


def settings_for(track: bool | str | Tracking | None) -> Tracking | None:
    """Normalize fit's `track` argument; None means untracked.

    None (the default): tracked unless SYNTHKIT_TRACKING is off. True: tracked. False: not.
    A string: tracked to that URI. A :class:`Tracking`: as it says.
    """
    if track is None:
        return Tracking() if tracking_on_by_default() else None
    if track is False:
        return None
    if track is True:
        return Tracking()
    if isinstance(track, str):
        return Tracking(uri=track)
    if isinstance(track, Tracking):
        return track
    raise SynthkitError(f"track must be True, False, a tracking URI or a Tracking, not {type(track).__name__}")


# ---------------------------------------------------------------------------------------
# tracking a fit
# ---------------------------------------------------------------------------------------


class _FitRun:
    """One tracked fit: started before training, finished (or failed) after it."""

    def __init__(self, synth: Synthesizer, df: pd.DataFrame, settings: Tracking) -> None:
        t0 = time.perf_counter()  # tracking_seconds counts importing MLflow too
        import mlflow
        from mlflow import MlflowClient

        self.settings = settings
        self.uri = resolve_tracking_uri(settings.uri)
        _check_reachable(self.uri)
        self.stack = contextlib.ExitStack()
        try:
            with quiet_mlflow():
                self.client = MlflowClient(tracking_uri=self.uri)
                parent = mlflow.active_run()
                if parent is not None and settings.experiment is None and _same_store(self.uri, mlflow.get_tracking_uri()):
                    experiment_id = parent.info.experiment_id  # a child run beside its parent
                else:
                    experiment_id = _experiment_id(self.client, self.uri, settings.experiment)
            self.stack.enter_context(use_tracking_uri(self.uri))
            source = settings.source or "DataFrame"
            name = settings.run_name or f"{synth.method_name} · {Path(source).name if _is_path(source) else source} · {len(df)}×{df.shape[1]}"
            tags = {
                "synthkit.version": _version(),
                "synthkit.method": synth.method_name,
                "synthkit.data_source": source,
                "mlflow.note.content": (
                    f"{synth.method_name} fitted by synthkit {_version()} on {source} "
                    f"({len(df):,} rows × {df.shape[1]} columns)"
                ),
                **{str(k): str(v) for k, v in settings.tags.items()},
            }
            with quiet_mlflow():
                self.run = mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=tags,
                                            nested=parent is not None)
                self.run_id = self.run.info.run_id
                self.client.log_batch(self.run_id, params=_params(synth, df, source), synchronous=True)
        except BaseException:
            self._end("FAILED")
            raise
        self.buffer = MetricBuffer(self.client, self.run_id)
        self.start_seconds = time.perf_counter() - t0

    def finish(self, synth: Synthesizer) -> None:
        """Log the final figures, schema, model folder and pyfunc model; end the run."""
        import mlflow
        from mlflow.entities import Metric

        t0 = time.perf_counter()
        self.buffer.close()
        synth.summary["mlflow_run_id"] = self.run_id
        synth.summary["mlflow_tracking_uri"] = self.uri
        status = "FINISHED"
        try:
            with quiet_mlflow():
                now = int(time.time() * 1000)
                metrics = [Metric(_metric_key(k), float(v), now, 0) for k, v in _final_metrics(synth.summary).items()]
                self.client.log_batch(self.run_id, metrics=metrics, synchronous=True)
                assert synth.schema is not None
                self.client.log_dict(self.run_id, synth.schema.to_dict(), "schema.json")
            if self.settings.log_model:
                from synthkit.serving import log_pyfunc

                with tempfile.TemporaryDirectory(prefix="synthkit-track-") as tmp:
                    folder = synth.save(Path(tmp) / "synthkit_model")
                    with quiet_mlflow():
                        self.client.log_artifacts(self.run_id, str(folder), "synthkit_model")
                        info = log_pyfunc(folder, name="model", registered_model_name=self.settings.register,
                                          synth=synth)
                synth.summary["mlflow_model_uri"] = info.model_uri
                if self.settings.register:
                    synth.summary["mlflow_registered_model"] = {
                        "name": self.settings.register, "version": str(info.registered_model_version)}
            overhead = self.start_seconds + self.buffer.seconds + time.perf_counter() - t0
            synth.summary["tracking_seconds"] = overhead
            with quiet_mlflow():
                self.client.log_metric(self.run_id, "tracking_seconds", overhead, synchronous=True)
        except Exception as exc:  # noqa: BLE001 - the model is fitted: keep it, say what is missing
            status = "FAILED"
            _warn(f"MLflow run {self.run_id} is incomplete ({_one_line(exc)}); the fitted model is unaffected")
        finally:
            self._end(status)
        if self.buffer.failed:
            with contextlib.suppress(Exception), quiet_mlflow():
                mlflow.MlflowClient(self.uri).set_tag(self.run_id, "synthkit.incomplete", "epoch losses")

    def fail(self, exc: BaseException) -> None:
        """Training raised: record why and end the run as failed (or killed on Ctrl-C)."""
        with contextlib.suppress(Exception), quiet_mlflow():
            self.buffer.close()
            self.client.set_tag(self.run_id, "synthkit.error", _one_line(exc)[:5000])
        self._end("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")

    def _end(self, status: str) -> None:
        import mlflow

        try:
            with contextlib.suppress(Exception), quiet_mlflow():
                if getattr(self, "run", None) is not None:
                    active = mlflow.active_run()
                    if active is not None and active.info.run_id == self.run_id:
                        mlflow.end_run(status)
                    else:
                        self.client.set_terminated(self.run_id, status)
        finally:
            self.stack.close()


def tracked_fit(synth: Synthesizer, df: pd.DataFrame, callbacks: list[Callable[..., None]] | None,
                settings: Tracking, fit: Callable[[pd.DataFrame, list[Any]], Any]) -> Synthesizer:
    """Run ``fit(df, callbacks)`` inside an MLflow run described by `settings`.

    Called by Synthesizer.fit. A tracking failure before training warns and fits untracked; one
    after training warns and keeps the fitted model.
    """
    try:
        run: _FitRun | None = _FitRun(synth, df, settings)
    except Exception as exc:  # noqa: BLE001 - tracking must not stop a fit
        _warn(f"MLflow tracking is off for this fit: {_one_line(exc)}")
        run = None
    if run is None:
        fit(df, list(callbacks or []))
        return synth
    try:
        fit(df, [*(callbacks or []), run.buffer])
    except BaseException as exc:
        run.fail(exc)
        raise
    run.finish(synth)
    return synth


def _params(synth: Synthesizer, df: pd.DataFrame, source: str) -> list[Any]:
    from mlflow.entities import Param

    from synthkit.tabular.synthesizer import fingerprint

    values: dict[str, Any] = {
        "method": synth.method_name,
        "transformer": synth.transformer_name,
        "seed": synth.seed,
        "rows": len(df),
        "columns": df.shape[1],
        "data_fingerprint": fingerprint(df),
        "data_source": source,
        "metadata_overrides": bool(synth.metadata),
    }
    values.update({f"config.{k}": v for k, v in synth.config.to_dict().items()})
    values.update({f"trainer.{k}": v for k, v in asdict(synth.trainer).items()})
    return [Param(_metric_key(k), _param_value(v)) for k, v in values.items()]


def _param_value(value: Any) -> str:
    text = json.dumps(list(value)) if isinstance(value, (list, tuple)) else str(value)
    return text[:6000]


def _final_metrics(summary: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {"fit_seconds": summary["fit_seconds"], "model_columns": summary["model_columns"]}
    if summary.get("cpu_threads"):
        out["cpu_threads"] = summary["cpu_threads"]  # with the seed, what reproduces the weights
    for stage, st in summary["stages"].items():
        out[f"{stage}/epochs_run"] = st["epochs_run"]
        out[f"{stage}/best_epoch"] = st["best_epoch"]
        out[f"{stage}/seconds"] = st["seconds"]
        for term, v in st["final_train"].items():
            out[f"{stage}/final_train/{term}"] = v
        for term, v in st["best_validation"].items():
            out[f"{stage}/best_validation/{term}"] = v
    return out


# ---------------------------------------------------------------------------------------
# reports
# ---------------------------------------------------------------------------------------


def model_run(folder: str | Path) -> tuple[str | None, str | None]:
    """(run id, tracking URI) recorded in a saved model folder by a tracked fit, or (None, None)."""
    meta_path = Path(folder) / "synthesizer.json"
    if not meta_path.is_file():
        raise SynthkitError(f"{folder}: not a saved synthkit model (no synthesizer.json)")
    try:
        summary = json.loads(meta_path.read_text(encoding="utf-8")).get("summary", {})
    except json.JSONDecodeError as exc:
        raise SynthkitError(f"{meta_path}: damaged ({exc.msg})") from None
    return summary.get("mlflow_run_id"), summary.get("mlflow_tracking_uri")


def log_report(run_id: str, path: str | Path, *, tracking_uri: str | None = None,
               artifact_path: str | None = None, metrics: bool = True) -> str:
    """Attach a report (a folder or one file) to an existing run; returns its artifact path.

    The files go under ``reports/<name>/`` (`name`: the folder's name or the file's stem), or
    under `artifact_path`. With `metrics`, the numbers of a ``report.json`` in it (or of the
    file itself, if JSON) are also logged as run metrics named ``<last part of the artifact
    path>/<key>/<key>…`` (at most 500), so runs can be compared on them in the UI.
    """
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    source = Path(path)
    if not source.exists():
        raise SynthkitError(f"{source}: no such file or folder")
    uri = resolve_tracking_uri(tracking_uri)
    _check_reachable(uri)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source.stem if source.is_file() else source.name) or "report"
    dest = (artifact_path or f"reports/{name}").strip("/")
    name = dest.rsplit("/", 1)[-1]
    try:
        with quiet_mlflow():
            client = MlflowClient(tracking_uri=uri)
            client.get_run(run_id)
            if source.is_dir():
                client.log_artifacts(run_id, str(source), dest)
            else:
                client.log_artifact(run_id, str(source), dest)
            json_file = source / "report.json" if source.is_dir() else source
            if metrics and json_file.suffix == ".json" and json_file.is_file():
                flat = _numbers(json.loads(json_file.read_text(encoding="utf-8")), name)
                now = int(time.time() * 1000)
                batch = [Metric(_metric_key(k), v, now, 0) for k, v in list(flat.items())[:500]]
                for lo in range(0, len(batch), 1000):
                    client.log_batch(run_id, metrics=batch[lo : lo + 1000], synchronous=True)
    except SynthkitError:
        raise
    except Exception as exc:  # noqa: BLE001 - unknown run, unreachable store: one clear line
        raise SynthkitError(f"cannot attach {source} to MLflow run {run_id} at {uri}: {_one_line(exc)}") from None
    return dest


def _numbers(obj: Any, prefix: str, depth: int = 0) -> dict[str, float]:
    """Numeric leaves of a JSON document (not inside lists), as {"a/b/c": value}."""
    out: dict[str, float] = {}
    if depth > 6:
        return out
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_numbers(v, f"{prefix}/{k}", depth + 1))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool) and math.isfinite(obj):
        out[prefix] = float(obj)
    return out


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _is_path(source: str) -> bool:
    return "/" in source or "\\" in source or source.lower().endswith((".csv", ".parquet", ".tsv", ".txt"))


def _version() -> str:
    from synthkit import __version__

    return __version__
