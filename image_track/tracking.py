"""MLflow runs of image fits and evaluations, in the same store as the tabular fits.

Where runs go is :mod:`synthkit.core.tracking`'s convention, the one ``synthkit fit`` uses: the tracking URI given,
else MLFLOW_TRACKING_URI, else ``sqlite:///mlruns/mlflow.db``; the experiment given, else MLFLOW_EXPERIMENT_NAME,
else "synthkit"; SYNTHKIT_TRACKING=off makes untracked fits the default. What an image run records:

* parameters: method, dataset and its options, steps, batch size, seed, device, ``config.*`` (the method's config)
  and ``trainer.*``;
* per-window losses through the trainer's callbacks, ``<stage>/train/<term>`` with the training step as the step
  (``model/…`` for the single-stage methods, ``stage1/…`` and ``stage2/…`` for MS-VAE);
* final figures: seconds, steps per second, each stage's last-window losses;
* the saved model folder (method.json, model.pt, card.json) as the artifacts ``image_model/``;
* later, ``synthkit image evaluate`` adds ``evaluation/<metric>/<score>`` metrics and ``evaluation/evaluation.json``.

Tracking never costs the model: an MLflow failure is a :class:`~synthkit.core.tracking.TrackingWarning` and the fit
or evaluation carries on. MLflow is imported only when a run starts.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthkit.core.tracking import (
    MetricBuffer,
    check_reachable,
    experiment_id,
    metric_key,
    one_line,
    quiet_mlflow,
    resolve_tracking_uri,
    tracking_on_by_default,
    warn,
)

#: Artifact folder of the saved model inside its run.
MODEL_ARTIFACTS = "image_model"


@dataclass
class ImageTracking:
    """Where an image fit is tracked (every field optional; None: the shared convention above)."""

    uri: str | None = None
    experiment: str | None = None
    run_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def settings_for(track: bool | None, uri: str | None = None, experiment: str | None = None) -> ImageTracking | None:
    """The tracking of a fit from the CLI's choices: None (not tracked) with ``track=False``, or with ``track=None``
    when SYNTHKIT_TRACKING is off and no URI or experiment was given."""
    if track is False:
        return None
    if track is None and not (uri or experiment) and not tracking_on_by_default():
        return None
    return ImageTracking(uri=uri, experiment=experiment)


class ImageFitRun:
    """One tracked image fit: created before training, finished (or failed) after it.

    Only MLflow's client API is used (no fluent ``start_run``), so a fit leaves MLflow's global state untouched."""

    def __init__(self, settings: ImageTracking, params: dict[str, Any], run_name: str, tags: dict[str, str]) -> None:
        t0 = time.perf_counter()
        from mlflow import MlflowClient
        from mlflow.entities import Param

        self.uri = resolve_tracking_uri(settings.uri)
        check_reachable(self.uri)
        with quiet_mlflow():
            self.client = MlflowClient(tracking_uri=self.uri)
            experiment = experiment_id(self.client, self.uri, settings.experiment)
            run = self.client.create_run(experiment, run_name=settings.run_name or run_name,
                                         tags={**tags, **settings.tags})
            self.run_id: str = run.info.run_id
            try:
                batch = [Param(metric_key(k), _param_value(v)) for k, v in params.items()]
                self.client.log_batch(self.run_id, params=batch, synchronous=True)
            except BaseException:
                self.client.set_terminated(self.run_id, "FAILED")
                raise
        self.buffer = MetricBuffer(self.client, self.run_id, what="losses")
        self.seconds = time.perf_counter() - t0

    def finish(self, folder: Path, metrics: dict[str, float]) -> None:
        """Send the last losses and the final figures, attach the model folder and end the run."""
        from mlflow.entities import Metric

        t0 = time.perf_counter()
        status = "FINISHED"
        try:
            self.buffer.close()
            with quiet_mlflow():
                now = int(time.time() * 1000)
                batch = [Metric(metric_key(k), float(v), now, 0) for k, v in metrics.items()]
                self.client.log_batch(self.run_id, metrics=batch, synchronous=True)
                self.client.log_artifacts(self.run_id, str(folder), MODEL_ARTIFACTS)
                overhead = self.seconds + self.buffer.seconds + time.perf_counter() - t0
                self.client.log_metric(self.run_id, "tracking_seconds", overhead, synchronous=True)
        except Exception as exc:  # noqa: BLE001 - the model is trained: keep it, say what is missing
            status = "FAILED"
            warn(f"MLflow run {self.run_id} is incomplete ({one_line(exc)}); the trained model is unaffected")
        finally:
            with contextlib.suppress(Exception), quiet_mlflow():
                if self.buffer.failed:
                    self.client.set_tag(self.run_id, "synthkit.incomplete", "losses")
                self.client.set_terminated(self.run_id, status)

    def fail(self, exc: BaseException) -> None:
        """Training raised: record why and end the run as failed (killed on Ctrl-C)."""
        with contextlib.suppress(Exception), quiet_mlflow():
            self.buffer.close()
            self.client.set_tag(self.run_id, "synthkit.error", one_line(exc)[:5000])
            self.client.set_terminated(self.run_id, "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")


def start_fit_run(settings: ImageTracking, params: dict[str, Any], run_name: str,
                  tags: dict[str, str]) -> ImageFitRun | None:
    """An :class:`ImageFitRun`, or None after a one-line TrackingWarning when MLflow cannot start one."""
    try:
        return ImageFitRun(settings, params, run_name, tags)
    except Exception as exc:  # noqa: BLE001 - tracking must not stop a fit
        warn(f"MLflow tracking is off for this fit: {one_line(exc)}")
        return None


def log_evaluation(run_id: str, uri: str | None, results: dict[str, Any], json_file: Path) -> bool:
    """Add an evaluation's numbers (``evaluation/<metric>/<score>``, at most 1,000) and its JSON file to the fit's
    run; False after a one-line TrackingWarning when that fails."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    try:
        resolved = resolve_tracking_uri(uri)
        check_reachable(resolved)
        with quiet_mlflow():
            client = MlflowClient(tracking_uri=resolved)
            client.get_run(run_id)
            now = int(time.time() * 1000)
            flat = numbers(results, "evaluation")
            batch = [Metric(metric_key(k), v, now, 0) for k, v in list(flat.items())[:1000]]
            client.log_batch(run_id, metrics=batch, synchronous=True)
            client.log_artifact(run_id, str(json_file), "evaluation")
        return True
    except Exception as exc:  # noqa: BLE001 - the scores are computed and printed: only the record is missing
        warn(f"could not add the evaluation to MLflow run {run_id}: {one_line(exc)}")
        return False


def numbers(obj: Any, prefix: str) -> dict[str, float]:
    """Finite numeric leaves of nested dicts as {"prefix/a/b": value} (lists and strings left out)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(numbers(v, f"{prefix}/{k}"))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool) and math.isfinite(obj):
        out[prefix] = float(obj)
    return out


def _param_value(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (list, tuple, dict)) else str(value)
    return text[:6000]
