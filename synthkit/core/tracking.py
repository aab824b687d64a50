"""The track-neutral part of MLflow tracking: where the store is, MLflow's noise, experiments, metric keys and the
trainer callback that sends the loss history in batches.

Both tracks record their fits in the same store under the same convention — the tracking URI is the one given, else
MLFLOW_TRACKING_URI, else ``sqlite:///mlruns/mlflow.db`` (a relative SQLite path made absolute, its folder created);
the experiment is the one given, else MLFLOW_EXPERIMENT_NAME (or _ID), else "synthkit", its artifacts beside a local
database under ``artifacts/<experiment>/``; SYNTHKIT_TRACKING=off makes untracked fits the default. What a run
records is each track's business: :mod:`synthkit.tracking` for the tables, the image track's own tracking module for the
images.

MLflow is imported inside the functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthkit.core.errors import SynthkitError

if TYPE_CHECKING:
    from synthkit.core.trainer import History

#: The project's local store: a SQLite database with the artifacts beside it, under ./mlruns.
DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
#: Experiment of synthkit's runs (unless MLFLOW_EXPERIMENT_NAME / MLFLOW_EXPERIMENT_ID say otherwise).
DEFAULT_EXPERIMENT = "synthkit"
#: Set to 0/off/false/no to make untracked fits the default.
ENV_SWITCH = "SYNTHKIT_TRACKING"
#: Loss records are sent at least this often (seconds), so a long fit shows progress.
FLUSH_SECONDS = 15.0
_BATCH_LIMIT = 900  # MLflow's log_batch takes at most 1,000 metrics

# MLflow 3 sends usage telemetry to mlflow.org from a background thread. synthkit works
# offline and keeps what it does in house: off unless asked for (MLFLOW_DISABLE_TELEMETRY=false).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


class TrackingWarning(UserWarning):
    """MLflow tracking failed; the fit itself went on."""


@contextlib.contextmanager
def tracking_warnings(console: Any) -> Iterator[None]:
    """Show each :class:`TrackingWarning` raised inside as one yellow "warning:" line on the
    rich `console` (what both CLIs do with MLflow failures); other warnings as usual."""
    from rich.markup import escape

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        yield
    for w in caught:
        if issubclass(w.category, TrackingWarning):
            console.print(f"[yellow]warning:[/] {escape(str(w.message))}", soft_wrap=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def tracking_on_by_default() -> bool:
    """Whether a fit with no explicit tracking choice is tracked: yes unless SYNTHKIT_TRACKING is 0/off/false/no."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() not in ("0", "off", "false", "no")


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The URI to use: `uri`, else MLFLOW_TRACKING_URI, else :data:`DEFAULT_TRACKING_URI`.

    A relative SQLite path becomes absolute (so the URI still works from another folder) and
    its folder is created.
    """
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    path = sqlite_path(uri)
    if path is not None:
        path = path.absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        return "sqlite:///" + path.as_posix()
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores and in-memory databases)."""
    if not uri.startswith("sqlite:///"):
        return None
    rest = uri[len("sqlite:///"):].split("?")[0]
    return Path(rest) if rest and rest != ":memory:" else None


# ---------------------------------------------------------------------------------------
# MLflow's noise and global state
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Inside the block MLflow prints nothing: no info logs (database migrations), no warnings,
    no "View run at" links or registry messages, no download progress bars."""
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic", "alembic.runtime.migration")]
    levels = [lg.level for lg in loggers]
    env = {"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    saved_env = {k: os.environ.get(k) for k in env}
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    os.environ.update(env)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def use_tracking_uri(uri: str | None) -> Iterator[None]:
    """Point MLflow's fluent API at `uri` inside the block (None: leave it), then restore both
    the global URI and the MLFLOW_TRACKING_URI variable exactly as they were."""
    if uri is None:
        yield
        return
    import mlflow
    from mlflow.tracking._tracking_service import utils

    old_global = utils._tracking_uri
    old_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(old_global)
        if old_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_env


def check_reachable(uri: str) -> None:
    """Fail fast on an HTTP tracking server that does not answer (MLflow would retry for minutes)."""
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5):  # the user's own server
            pass
    except urllib.error.HTTPError:
        return  # it answered (perhaps without /health, or behind auth): let MLflow talk to it
    except (OSError, ValueError) as exc:
        raise SynthkitError(f"the tracking server {uri} does not answer ({exc})") from None


# ---------------------------------------------------------------------------------------
# experiments, loss records, keys
# ---------------------------------------------------------------------------------------


def experiment_id(client: Any, uri: str, name: str | None) -> str:
    """The experiment's id, creating it if needed; on a local SQLite store its artifacts go to
    ``artifacts/<experiment>/`` beside the database (mlruns/artifacts/synthkit by default)."""
    from mlflow.exceptions import MlflowException

    env_id = os.environ.get("MLFLOW_EXPERIMENT_ID")
    if name is None and env_id:
        return env_id
    name = name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    db = sqlite_path(uri)
    if db is not None:
        location = (db.parent / "artifacts" / re.sub(r"[^A-Za-z0-9._-]+", "_", name)).absolute().as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # created meanwhile by another process
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def same_store(a: str, b: str) -> bool:
    """Whether two tracking URIs name the same store (SQLite files compared as absolute paths)."""
    pa, pb = sqlite_path(a), sqlite_path(b)
    if pa is not None and pb is not None:
        return pa.absolute() == pb.absolute()
    return a.rstrip("/") == b.rstrip("/")


class MetricBuffer:
    """Trainer callback that collects each record's losses and sends them with log_batch.

    Metric names are ``<stage>/<train|validation>/<term>``. The step is the training step a record ends at for
    step-based training (``history.steps``: the images' train_steps) and the epoch counted from 1 otherwise (the
    tables' epochs). Sent when a stage ends, when 900 are waiting, every :data:`FLUSH_SECONDS`, and at
    :meth:`close`. `what` names the records in the warning a failure gives.
    """

    def __init__(self, client: Any, run_id: str, flush_seconds: float = FLUSH_SECONDS,
                 what: str = "epoch losses") -> None:
        self.client = client
        self.run_id = run_id
        self.flush_seconds = flush_seconds
        self.what = what
        self.pending: list[Any] = []
        self.stage: str | None = None
        self.last_flush = time.monotonic()
        self.seconds = 0.0  # time spent here (the tracking overhead during training)
        self.failed = False

    def __call__(self, stage: str, epoch: int, history: History) -> None:
        if self.failed:
            return
        t0 = time.perf_counter()
        from mlflow.entities import Metric

        if self.stage is not None and stage != self.stage:
            self.flush()
        self.stage = stage
        now = int(time.time() * 1000)
        step = history.steps[epoch] if len(history.steps) > epoch else epoch + 1
        for split, store in (("train", history.train), ("validation", history.validation)):
            for term, values in store.items():
                if len(values) > epoch:
                    self.pending.append(Metric(metric_key(f"{stage}/{split}/{term}"), float(values[epoch]), now, step))
        if len(self.pending) >= _BATCH_LIMIT or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()
        self.seconds += time.perf_counter() - t0

    def flush(self) -> None:
        """Send what is waiting (a failure warns once and stops the logging, never the training)."""
        if self.failed or not self.pending:
            self.pending.clear()
            return
        batch, self.pending = self.pending, []
        try:
            with quiet_mlflow():
                for lo in range(0, len(batch), 1000):
                    self.client.log_batch(self.run_id, metrics=batch[lo : lo + 1000], synchronous=True)
        except Exception as exc:  # noqa: BLE001 - tracking must not stop training
            self.failed = True
            warn(f"MLflow tracking stopped logging {self.what} to run {self.run_id}: {one_line(exc)}")
        self.last_flush = time.monotonic()

    def close(self) -> None:
        """Send the rest."""
        t0 = time.perf_counter()
        self.flush()
        self.seconds += time.perf_counter() - t0


def metric_key(key: str) -> str:
    """MLflow keys allow letters, digits, _ - . space : and /; anything else becomes _."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", key)[:250]


def one_line(exc: BaseException) -> str:
    """An exception's message as one line of at most 300 characters."""
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:299] + "…"


def warn(message: str) -> None:
    """Emit a :class:`TrackingWarning` (the CLIs print it as one yellow line)."""
    warnings.warn(message, TrackingWarning, stacklevel=3)
