"""The Synthesizer: fit a method on a DataFrame, sample, save, load, encode, decode.

    from synthkit import Synthesizer
    synth = Synthesizer(method="msvae", seed=0).fit(df)
    fake = synth.sample(10_000, seed=1)
    synth.save("model/");  Synthesizer.load("model/").sample(5)

Data flow one way: DataFrame → schema → transformer → matrix → model → matrix → inverse
transform → DataFrame. A saved model loads on the CPU whatever device trained it.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import platform
import time
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from synthkit import contracts
from synthkit.core.trainer import (
    Callback,
    History,
    TrainerConfig,
    default_cpu_threads,
    inference,
    resolve_device,
    seed_everything,
)
from synthkit.errors import SynthkitError
from synthkit.tabular.methods import METHODS, MethodConfig, TabularMethod
from synthkit.tabular import sampling
from synthkit.tabular.schema import Schema, infer_schema
from synthkit.tabular.transformer import TabularTransformer, build_transformer

if TYPE_CHECKING:
    from synthkit.tracking import Tracking

_LEGACY_HEAD_INDEXES = {"block_id", "logit_x", "mode_x", "offset_x", "mode_mean_raw", "value_x", "value_mean_raw"}
FORMAT_VERSION = 1


class Synthesizer:
    """Fit / sample / save / load for any registered method ("msvae", "betatcvae", "tvae").

    Keyword arguments are the method's config fields (e.g. ``latent_dim``, ``beta``,
    ``residual_dim``) and the trainer's (``epochs``, ``batch_size``, ``learning_rate``,
    ``max_steps``, ``patience``, ``time_budget_s``, ``device``, ``progress``). `transformer` is
    "mode_specific" (default) or "minmax_log" (the paper's §6.2 pre-processing); `metadata`
    overrides column kinds as :func:`synthkit.tabular.schema.load_metadata` returns them;
    `relations` is "auto" (find relations between columns and enforce them on output; see
    :mod:`synthkit.tabular.relations`), a list of declared relations, or None.
    """

    def __init__(
        self,
        method: str = "msvae",
        *,
        transformer: str = "mode_specific",
        seed: int = 0,
        metadata: dict[str, dict[str, Any]] | None = None,
        relations: str | list[Any] | None = "auto",
        **options: Any,
    ) -> None:
        if method not in METHODS:
            raise SynthkitError(f"unknown method {method!r} (use one of: {', '.join(METHODS)})")
        self.method_name = method
        self.transformer_name = transformer
        self.seed = int(seed)
        self.metadata = metadata
        if not (relations in ("auto", None) or isinstance(relations, list)):
            raise SynthkitError(f"relations must be 'auto', None or a list of relations, not {relations!r}")
        #: "auto": find relations between columns in the data; a list: the declared ones
        #: (Relation objects or dicts as a metadata file holds them); None: none.
        self.relations = relations
        method_cls = METHODS[method]
        config_fields = {f.name for f in fields(method_cls.config_class)}
        trainer_fields = {f.name for f in fields(TrainerConfig)}
        unknown = sorted(set(options) - config_fields - trainer_fields)
        if unknown:
            raise SynthkitError(f"unknown option {unknown[0]!r} for method {method!r}")
        cfg = {k: v for k, v in options.items() if k in config_fields}
        if "hidden" in cfg:
            cfg["hidden"] = tuple(cfg["hidden"])
        self.config: MethodConfig = method_cls.config_class(**cfg)
        self.trainer = TrainerConfig(**{k: v for k, v in options.items() if k in trainer_fields})
        _validate(self.config, self.trainer)
        self.schema: Schema | None = None
        self.transformer: TabularTransformer | None = None
        self.model: TabularMethod | None = None
        self.history: dict[str, History] = {}
        self.summary: dict[str, Any] = {}
        #: The output contract derived from the training table (great-expectations suite
        #: JSON, see synthkit.contracts); None for models saved before contracts existed.
        self.expectations: dict[str, Any] | None = None

    # -- fitting ---------------------------------------------------------------------------

    def fit(
        self, df: pd.DataFrame, callbacks: list[Callback] | None = None, track: bool | str | Tracking | None = None
    ) -> Synthesizer:
        """Infer the schema, fit the transformer, train the method (all stages).

        Before training, the table is checked against its schema (a one-line SynthkitError at
        the first violation) and the output contract is derived from it
        (:mod:`synthkit.contracts`; :meth:`validate` uses it, :meth:`save` writes it).

        `track` makes the fit an MLflow run (:mod:`synthkit.tracking`): None (default) tracks to
        MLFLOW_TRACKING_URI, else ``sqlite:///mlruns/mlflow.db``, unless SYNTHKIT_TRACKING=off;
        False does not track; a URI string or a :class:`~synthkit.tracking.Tracking` says where
        and how. The run id is kept in ``summary["mlflow_run_id"]``.
        """
        if track is not False:
            from synthkit.tracking import settings_for, tracked_fit

            settings = settings_for(track)
            if settings is not None:
                return tracked_fit(self, df, callbacks, settings, self._fit)
        return self._fit(df, callbacks)

    def _fit(self, df: pd.DataFrame, callbacks: list[Callback] | None = None) -> Synthesizer:
        if len(df) < 2:
            raise SynthkitError(f"need at least 2 rows to fit a model, got {len(df)}")
        start = time.perf_counter()
        seed_everything(self.seed)
        declared, flags = contracts.split_metadata(self.metadata)
        self.schema = infer_schema(df, declared)
        contracts.check_input(df, self.schema, flags)
        self.schema.relations = resolve_relations(df, self.schema, self.relations)
        self.expectations = contracts.derive_suite(df, self.schema)
        self.transformer = build_transformer(self.transformer_name, self.schema, seed=self.seed).fit(df)
        if self.transformer.output_dim == 0:
            raise SynthkitError("no column to model: every column is an identifier or a constant")
        data = self.transformer.transform(df)
        model = METHODS[self.method_name](self.config, self.transformer.spans)
        trainer, threads = _reproducible_threads(self.trainer)
        self.history = model.fit(data, trainer, self.seed, list(callbacks or []))
        self.model = model.cpu().eval()
        self.summary = {
            "method": self.method_name,
            "rows": len(df),
            "columns": df.shape[1],
            "model_columns": self.transformer.output_dim,
            "fit_seconds": time.perf_counter() - start,
            "device": str(resolve_device(self.trainer.device)),
            # The CPU thread count the weights depend on (None off the CPU): see _reproducible_threads.
            "cpu_threads": threads,
            **({"prior": model.prior.describe()} if hasattr(model, "prior") else {}),
            "data_fingerprint": fingerprint(df),
            "stages": {
                name: {
                    "epochs_run": h.epochs_run,
                    "best_epoch": h.best_epoch,
                    "stopped_because": h.stopped_because,
                    "seconds": h.seconds,
                    "final_train": {k: v[-1] for k, v in h.train.items()},
                    "best_validation": {k: v[h.best_epoch - 1] for k, v in h.validation.items()} if h.validation else {},
                }
                for name, h in self.history.items()
            },
        }
        return self

    def _fitted(self) -> tuple[TabularTransformer, TabularMethod]:
        if self.model is None or self.transformer is None:
            raise SynthkitError("the synthesizer is not fitted: call fit() or load() first")
        return self.transformer, self.model

    # -- generating ------------------------------------------------------------------------

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """`n` synthetic rows. The same seed gives the same rows."""
        transformer, model = self._fitted()
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise SynthkitError(f"the number of rows must be a positive integer, not {n!r}")
        seed = self.seed if seed is None else int(seed)
        # Compact draws (a code per block, an offset per numeric column) go straight to the
        # inverse transform: no one-hot matrix is built only to be argmax-ed back.
        with sampling.without_numpy_hugepages():
            codes, offsets, values = sampling.sample_codes(model.sampling_plan(), int(n), seed)
            return transformer.inverse_codes(codes, offsets, values, seed=seed)

    def validate(self, df: pd.DataFrame) -> contracts.ContractReport:
        """Check `df` (e.g. a sample) against the expectations derived from the training
        table: column set, types, categories, ranges, quantiles, missing shares, unique ids.
        Kept out of :meth:`sample`, which stays fast: see synthkit.contracts for the cost."""
        if self.expectations is None:
            raise SynthkitError(
                "this model has no expectations (saved before data contracts existed): refit it to derive them"
            )
        return contracts.validate(df, self.expectations)

    def encode(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Posterior means of the latents for each row: {"c": ..., "z": ...} for MS-VAE,
        {"c": ...} for β-TCVAE, {"z": ...} for TVAE."""
        transformer, model = self._fitted()
        x = torch.as_tensor(transformer.transform(df))
        with inference():
            return {k: v.numpy() for k, v in model.encode(x).items()}

    def reconstruct(self, df: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Deterministic reconstructions of `df` through the model, per stage ("stage1" and
        "msvae" for MS-VAE): posterior means in, each column's most likely mode or category
        and its mean offset out."""
        transformer, model = self._fitted()
        x = torch.as_tensor(transformer.transform(df, dtype=np.float32))
        with inference():
            recs = model.reconstructions(x)
        return {k: transformer.inverse_transform(v.numpy(), seed=self.seed) for k, v in recs.items()}

    def decode(self, latents: dict[str, np.ndarray], seed: int | None = None) -> pd.DataFrame:
        """Rows generated from given latents (as :meth:`encode` returns them)."""
        transformer, model = self._fitted()
        dims = model.latent_dims()
        missing = [k for k in dims if k not in latents]
        if missing:
            raise SynthkitError(f"latents {missing[0]!r} are missing (this model needs {', '.join(dims)})")
        tensors = {}
        for k, d in dims.items():
            arr = np.asarray(latents[k], dtype=np.float32)
            if arr.ndim != 2 or arr.shape[1] != d:
                raise SynthkitError(f"latents {k!r} must have shape (rows, {d}), got {arr.shape}")
            tensors[k] = torch.as_tensor(arr)
        seed = self.seed if seed is None else int(seed)
        with inference():
            out = model.decode(tensors, torch.Generator().manual_seed(seed)).numpy()
        return transformer.inverse_transform(out, seed=seed)

    # -- persistence -----------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the fitted synthesizer to a folder (created if needed)."""
        transformer, model = self._fitted()
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise SynthkitError(f"{folder}: exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        assert self.schema is not None
        meta = {
            "format_version": FORMAT_VERSION,
            "synthkit_version": _version(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "method": self.method_name,
            "config": self.config.to_dict(),
            "trainer": asdict(self.trainer),
            "transformer": self.transformer_name,
            "seed": self.seed,
            "schema": self.schema.to_dict(),
            "summary": self.summary,
            "history": {k: {"train": h.train, "validation": h.validation} for k, h in self.history.items()},
        }
        # Write to temporary names, then move into place: a failure leaves no half model.
        names = ["synthesizer.json", "model.pt", "transformer.pkl"]
        if self.expectations is not None:
            names.append(contracts.SUITE_FILE)
        tmp = {name: folder / f".{name}.tmp" for name in names}
        try:
            tmp["synthesizer.json"].write_text(json.dumps(meta, indent=2, default=_json_default), encoding="utf-8")
            if self.expectations is not None:
                tmp[contracts.SUITE_FILE].write_text(contracts.suite_json(self.expectations), encoding="utf-8")
            torch.save(model.state_dict(), tmp["model.pt"])
            with tmp["transformer.pkl"].open("wb") as fh:
                pickle.dump(transformer, fh, protocol=pickle.HIGHEST_PROTOCOL)
            for name, p in tmp.items():
                p.replace(folder / name)
            if self.expectations is None and (folder / contracts.SUITE_FILE).exists():
                (folder / contracts.SUITE_FILE).unlink()  # another model's contract
        finally:
            for p in tmp.values():
                if p.exists():
                    p.unlink()
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Synthesizer:
        """Load a synthesizer saved by :meth:`save`, on the CPU.

        The transformer is stored with pickle: load only models you (or your team) saved.
        """
        folder = Path(path)
        meta_path = folder / "synthesizer.json"
        if not meta_path.is_file():
            raise SynthkitError(f"{folder}: not a saved synthkit model (no synthesizer.json)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SynthkitError(f"{meta_path}: damaged ({exc.msg})") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise SynthkitError(f"{folder}: saved in format {meta.get('format_version')}, this synthkit reads {FORMAT_VERSION}")
        trainer = dict(meta["trainer"])
        synth = cls(meta["method"], transformer=meta["transformer"], seed=meta["seed"], **meta["config"], **trainer)
        synth.schema = Schema.from_dict(meta["schema"])
        synth.summary = meta.get("summary", {})
        if (folder / contracts.SUITE_FILE).is_file():  # absent in models saved before contracts
            synth.expectations = contracts.read_suite(folder / contracts.SUITE_FILE)
        try:
            with (folder / "transformer.pkl").open("rb") as fh:
                synth.transformer = pickle.load(fh)
            state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
        except (OSError, pickle.UnpicklingError, RuntimeError, EOFError) as exc:
            raise SynthkitError(f"{folder}: the model files cannot be read ({type(exc).__name__})") from None
        assert synth.transformer is not None
        model = METHODS[synth.method_name](synth.config, synth.transformer.spans)
        # Files written before the output heads' index tensors stopped being saved carry
        # them; they are rebuilt from the spans, so drop them.
        state = {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in _LEGACY_HEAD_INDEXES}
        model.load_state_dict(state)
        synth.model = model.eval()
        synth.history = {
            k: History(train=v["train"], validation=v["validation"]) for k, v in meta.get("history", {}).items()
        }
        return synth


def resolve_relations(df: pd.DataFrame, schema: Schema, relations: str | list[Any] | None) -> list[Any]:
    """The relations to enforce: detected ("auto"), declared (a list, fitted and checked
    against the data), or none."""
    from synthkit.tabular import relations as rel

    if relations is None:
        return []
    if relations == "auto":
        return rel.detect_relations(df, schema)
    declared = [r if isinstance(r, rel.Relation) else None for r in relations]
    if any(r is None for r in declared):
        declared = rel.parse_relations([r.to_dict() if isinstance(r, rel.Relation) else r for r in relations])
    return rel.fit_declared(df, schema, declared)


def fingerprint(df: pd.DataFrame) -> str:
    """SHA-256 of the table's content (columns, dtypes and values), for the model card."""
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in df.columns]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _validate(config: MethodConfig, trainer: TrainerConfig) -> None:
    checks = [
        (config.latent_dim >= 1, f"latent_dim must be at least 1, not {config.latent_dim}"),
        (all(int(h) >= 1 for h in config.hidden), f"hidden layer widths must be positive, not {config.hidden}"),
        (trainer.epochs >= 1, f"epochs must be at least 1, not {trainer.epochs}"),
        (trainer.max_steps is None or trainer.max_steps >= 1, f"max_steps must be at least 1 or None, not {trainer.max_steps}"),
        (trainer.batch_size >= 2, f"batch_size must be at least 2, not {trainer.batch_size}"),
        (trainer.learning_rate > 0, f"learning_rate must be positive, not {trainer.learning_rate}"),
        (0 <= trainer.validation_share < 0.5, f"validation_share must be in [0, 0.5), not {trainer.validation_share}"),
    ]
    for value in ("beta", "alpha", "gamma", "residual_beta", "loss_factor"):
        if hasattr(config, value):
            v = getattr(config, value)
            checks.append((v >= 0, f"{value} must be non-negative, not {v}"))
    if hasattr(config, "residual_dim"):
        checks.append((config.residual_dim >= 1, f"residual_dim must be at least 1, not {config.residual_dim}"))
    if hasattr(config, "prior"):
        checks.append((config.prior in ("mixture", "standard"), f"prior must be 'mixture' or 'standard', not {config.prior!r}"))
        checks.append((config.prior_components >= 1, f"prior_components must be at least 1, not {config.prior_components}"))
    for ok, message in checks:
        if not ok:
            raise SynthkitError(message)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.generic,)):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    return str(o)


def _version() -> str:
    from synthkit import __version__

    return __version__


def _reproducible_threads(trainer: TrainerConfig) -> tuple[TrainerConfig, int | None]:
    """The trainer settings every stage of one fit runs under, with the CPU thread count fixed
    once (``cpu_threads`` as given, else :func:`~synthkit.core.trainer.default_cpu_threads`),
    and that count (None off the CPU).

    The fitted weights depend on the thread count: PyTorch splits a reduction over more
    threads in a different order, so the last bits of the sums differ and training drifts
    apart (a German-credit fit with seed 0: one sample on one thread, another on two). The
    default count follows the idle cores, so the same command gave different models while
    another process ran. Fixed here once and recorded in ``summary["cpu_threads"]`` (the
    model card, the MLflow run), the same seed and thread count — ``synthkit fit --seed S
    --threads N`` — give the same model; each stage measuring the idle cores for itself
    could otherwise train stage one on two threads and stage two on one."""
    if resolve_device(trainer.device).type != "cpu":
        return trainer, None
    threads = trainer.cpu_threads or default_cpu_threads()
    return replace(trainer, cpu_threads=threads), threads
