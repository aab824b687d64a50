"""Interpretability (synthkit.explain): known answers on synthetic arrays, then the analyses
on tiny fitted models, the entry point and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import mutual_info_score

from synthkit.cli import cli
from synthkit.datasets import simulate_credit
from synthkit.errors import SynthkitError
from synthkit.evaluate.encoding import prepare
from synthkit.evaluate.fidelity import column_jsd
from synthkit.explain import (
    Posterior,
    conditioning_checks,
    explain,
    factor_matches,
    factorvae_score,
    latent_effects,
    latent_feature_correlations,
    latent_information,
    mig,
    perturb,
    posteriors,
    resolve_latent,
    traverse,
)
from synthkit.explain import plots as P
from synthkit.explain.conditioning import gaussian_mi, normalized_mi
from synthkit.explain.correlations import index_code_mi, kl_to_prior
from synthkit.explain.disentanglement import discrete_mutual_info, discretize
from synthkit.explain.notes import confidence, latent_notes
from synthkit.explain.terminal import parse_traverse
from synthkit.tabular.synthesizer import Synthesizer

PNG = b"\x89PNG"


# ---------------------------------------------------------------------------------------
# fixtures: tiny credit table and two tiny models (module scope: fitted once)
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_credit(800, seed=0)


def _fit(method: str, df: pd.DataFrame) -> Synthesizer:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHKIT_TRACKING", "off")
        return Synthesizer(method, seed=0, epochs=3, batch_size=128, progress=False).fit(df)


@pytest.fixture(scope="module")
def msvae(credit: tuple[pd.DataFrame, pd.DataFrame]) -> Synthesizer:
    return _fit("msvae", credit[0])


@pytest.fixture(scope="module")
def tvae(credit: tuple[pd.DataFrame, pd.DataFrame]) -> Synthesizer:
    return _fit("tvae", credit[0])


# ---------------------------------------------------------------------------------------
# known answers on synthetic arrays
# ---------------------------------------------------------------------------------------


def test_correlations_known_answers() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.normal(size=n)
    group = rng.choice(["a", "b", "c"], size=n)
    shift = pd.Series(group).map({"a": -1.0, "b": 0.0, "c": 1.0}).to_numpy()
    flag = rng.random(n) < 0.3
    data = pd.DataFrame({"x": x, "cube": x**3 * 1000 + 5, "group": group, "flag": flag, "noise": rng.normal(size=n)})
    latents = np.column_stack([2 * x + 1, -x, shift + 0.5 * rng.normal(size=n), flag + 0.0])
    res = latent_feature_correlations(latents, data, threshold=0.75, floor=0.2)
    m = res["matrix"]
    assert res["latents"] == ["l1", "l2", "l3", "l4"]
    assert m["l1"]["x"] == pytest.approx(1.0) and m["l2"]["x"] == pytest.approx(-1.0)
    # Spearman sees the monotone cube exactly, Pearson does not.
    assert res["spearman"]["l1"]["cube"] == pytest.approx(1.0)
    assert abs(m["l1"]["cube"]) < 0.95
    # η: variance between the group means over the total (shift has variance 2/3, noise 0.25).
    assert res["features"]["group"]["measure"] == "correlation_ratio"
    assert m["l3"]["group"] == pytest.approx(math.sqrt((2 / 3) / (2 / 3 + 0.25)), abs=0.03)
    assert res["spearman"]["l3"]["group"] is None
    # Booleans: point-biserial r is Pearson's r with 0/1, here exactly 1.
    assert res["features"]["flag"]["measure"] == "point_biserial"
    assert m["l4"]["flag"] == pytest.approx(1.0)
    assert abs(m["l1"]["noise"]) < 0.1
    sig = {(p["latent"], p["feature"]) for p in res["significant"]}
    assert {("l1", "x"), ("l2", "x"), ("l4", "flag")} <= sig
    assert ("l1", "noise") not in {(p["latent"], p["feature"]) for p in res["table"]}
    assert all(abs(p["value"]) >= 0.2 for p in res["table"])
    json.dumps(res, allow_nan=False)


def test_correlations_with_constant_and_missing() -> None:
    data = pd.DataFrame({"const": [1.0] * 5, "gaps": [1.0, np.nan, 3.0, 4.0, 5.0]})
    lat = np.array([[0.0], [9.0], [2.0], [3.0], [4.0]])
    res = latent_feature_correlations(lat, data)
    assert res["matrix"]["l1"]["gaps"] == pytest.approx(1.0)  # the row with a missing value is left out
    with pytest.raises(SynthkitError, match="rows"):
        latent_feature_correlations(lat[:3], data)


def test_information_known_answer() -> None:
    """q(c|x) = N(ρx, 1 − ρ²) with x ~ N(0, 1): the aggregate is N(0, 1), I = −½ log(1 − ρ²)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 1))
    rho = 0.8
    post = Posterior(np.hstack([rho * x, np.zeros_like(x)]), np.log(np.hstack([np.full_like(x, 1 - rho**2), np.ones_like(x)])))
    mi = index_code_mi(post, max_rows=1000, samples=8)
    assert mi[0] == pytest.approx(-0.5 * math.log(1 - rho**2), abs=0.05)
    assert mi[1] == pytest.approx(0.0, abs=1e-9)
    kl = kl_to_prior(post)
    assert kl[1] == pytest.approx(0.0)
    info = latent_information({"c": post})
    rows = info["blocks"]["c"]
    assert [r["latent"] for r in rows] == ["c1", "c2"]
    assert rows[0]["active"] and not rows[1]["active"]
    assert rows[0]["aggregate_std"] == pytest.approx(1.0, abs=0.05)


def test_discrete_mi_matches_sklearn_and_discretize_like_dlib() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 5, size=(1500, 2))
    b = np.column_stack([a[:, 0] * 2 + rng.integers(0, 2, 1500), rng.integers(0, 3, 1500)])
    m = discrete_mutual_info(a, b)
    for i in range(2):
        for k in range(2):
            assert m[i, k] == pytest.approx(mutual_info_score(a[:, i], b[:, k]))
    codes = discretize(np.linspace(0, 1, 101), 20)[:, 0]
    assert codes.min() == 1 and codes.max() == 20 and len(np.unique(codes)) == 20


def _factors(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"binary": rng.integers(0, 2, n), "four": rng.integers(0, 4, n), "normal": rng.normal(size=n),
                         "uniform": rng.uniform(size=n), "normal2": rng.normal(size=n)})


def test_mig_and_factorvae_known_answers() -> None:
    f = _factors(4000, 3)
    copies = f.to_numpy(float) * np.array([1.0, -2.0, 3.0, 1.0, 0.5])  # scale and sign do not matter
    g = mig(copies, f)
    assert g["mig"] > 0.95
    assert g["per_factor"]["normal"]["top_latent"] == "l3"
    fv = factorvae_score(copies, f, n_train=1500, n_eval=800)
    assert fv["score"] == 1.0 and fv["ceiling"] == 1.0
    assert fv["classifier"] == {"l1": "binary", "l2": "four", "l3": "normal", "l4": "uniform", "l5": "normal2"}
    noise = np.random.default_rng(4).normal(size=(4000, 5))
    assert mig(noise, f)["mig"] < 0.02
    fv = factorvae_score(noise, f, n_train=1500, n_eval=800)
    assert fv["score"] < fv["chance"] + 0.1
    m = factor_matches(copies, f)
    assert m["by_latent"]["l2"]["factor"] == "four" and m["by_latent"]["l2"]["normalized_mi"] == pytest.approx(1.0)
    assert m["by_factor"]["uniform"]["latent"] == "l4"


def test_factorvae_prunes_collapsed_coordinates() -> None:
    f = _factors(2000, 5)
    lat = np.column_stack([f["binary"], np.full(2000, 0.001)])
    fv = factorvae_score(lat, f, n_train=500, n_eval=300)
    assert fv["active_latents"] == ["l1"]
    assert fv["ceiling"] == pytest.approx(1 / 5)


def test_gaussian_and_normalized_mi_known_answers() -> None:
    rng = np.random.default_rng(6)
    a = rng.normal(size=(5000, 2))
    rho = 0.6
    b = rho * a + math.sqrt(1 - rho**2) * rng.normal(size=(5000, 2))
    assert gaussian_mi(a, b) == pytest.approx(-math.log(1 - rho**2), abs=0.05)  # two coordinates
    assert gaussian_mi(a, rng.normal(size=(5000, 2))) < 0.01
    same, per = normalized_mi(a, a)
    assert same == pytest.approx(1.0) and per == pytest.approx([1.0, 1.0])
    assert normalized_mi(a, rng.normal(size=(5000, 2)))[0] < 0.05


def test_notes_confidence_rules() -> None:
    assert confidence(False, 0.99) == "none"
    assert confidence(False, 0.0, effect_jsd=0.4) == "low"
    assert confidence(True, 0.8) == "high"
    assert confidence(True, 0.8, effect_jsd=0.5, effect_agrees=False) == "medium"
    assert confidence(True, 0.6) == "medium"
    assert confidence(True, 0.1, effect_jsd=0.3) == "medium"
    assert confidence(True, 0.1, effect_jsd=0.01) == "low"
    corr = {"latents": ["c1", "c2"], "threshold": 0.75, "floor": 0.2,
            "table": [{"latent": "c1", "feature": "Mortgage", "value": 0.91, "measure": "pearson"},
                      {"latent": "c2", "feature": "Balance", "value": -0.5, "measure": "pearson"}]}
    info = {"inactive_below": 0.01, "blocks": {"c": [
        {"latent": "c1", "active": True, "kl_to_prior": 2.0, "mutual_information": 1.9, "mean_variance": 1.0},
        {"latent": "c2", "active": False, "kl_to_prior": 0.002, "mutual_information": 0.001, "mean_variance": 0.0004}]}}
    notes = latent_notes(corr, info, matches={"c1": {"factor": "L", "normalized_mi": 0.4, "second_factor": "M",
                                                     "second_normalized_mi": 0.1}})
    assert notes["c1"]["confidence"] == "high"
    assert "Mortgage (r = +0.91: higher c1, higher Mortgage)" in notes["c1"]["text"]
    assert "clearly matches gender (L)" in notes["c1"]["text"]
    assert notes["c2"]["confidence"] == "none"
    assert "inactive" in notes["c2"]["text"] and "artefact of the encoder" in notes["c2"]["text"]


# ---------------------------------------------------------------------------------------
# fitted models
# ---------------------------------------------------------------------------------------


def test_posteriors_match_encode(msvae: Synthesizer, tvae: Synthesizer, credit: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    df = credit[0].iloc[:200]
    for synth in (msvae, tvae):
        posts = posteriors(synth, df)
        enc = synth.encode(df)
        assert set(posts) == set(enc)
        for k, post in posts.items():
            np.testing.assert_allclose(post.mean, enc[k], atol=1e-6)
            assert post.logvar.shape == enc[k].shape


def test_resolve_latent() -> None:
    dims = {"c": 9, "z": 4}
    assert resolve_latent(dims, "c2") == ("c", 1)
    assert resolve_latent(dims, "z4") == ("z", 3)
    assert resolve_latent(dims, 0) == ("c", 0)
    assert resolve_latent(dims, 3, "z") == ("z", 3)
    for bad, match in (("c10", "out of range"), ("z0", "out of range"), ("q1", "unknown latent"), ("c", "unknown latent")):
        with pytest.raises(SynthkitError, match=match):
            resolve_latent(dims, bad)
    with pytest.raises(SynthkitError, match="out of range"):
        resolve_latent(dims, 4, "z")
    with pytest.raises(SynthkitError, match="no latent block"):
        resolve_latent(dims, 0, "y")


def test_perturbation_is_deterministic_and_isolated(msvae: Synthesizer, credit: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    df = credit[0].iloc[:400]
    none = perturb(msvae, df, "c1", shift=0.0, seed=3)
    assert all(s["jsd"] == 0.0 for s in none.shifts)
    assert all(s["mean_shift"] in (0.0, None) for s in none.shifts)
    pd.testing.assert_frame_equal(none.original, none.perturbed)
    p = perturb(msvae, df, "z2", set_to=5.0, seed=3)
    assert p.kind == "set" and p.label == "z2" and p.describe() == "z2 set to 5"
    pd.testing.assert_frame_equal(p.original, none.original)  # same seed, same unperturbed rows
    jsds = [s["jsd"] for s in p.shifts]
    assert jsds == sorted(jsds, reverse=True)
    # The JSD is the evaluation module's: column_jsd on the tables as prepare() gives them.
    _, cols, (o, q) = prepare(p.original, p.perturbed, schema=msvae.schema)
    expected = {n: column_jsd(o[n], q[n], numeric=n in cols.numeric) for n in cols.all}
    assert {s["feature"]: s["jsd"] for s in p.shifts} == pytest.approx(expected)
    s = perturb(msvae, df, 0, block="c", shift=2.0, seed=3)
    assert s.label == "c1" and s.describe().startswith("c1 shifted by +2 sd")
    with pytest.raises(SynthkitError, match="exactly one"):
        perturb(msvae, df, "c1", seed=3)
    with pytest.raises(SynthkitError, match="out of range"):
        perturb(msvae, df, "c10", shift=1.0)
    json.dumps(p.to_dict(), allow_nan=False)
    png = P.perturbation_plot(p, max_features=4)
    assert png.startswith(PNG)


def test_traversal_and_effects(tvae: Synthesizer, credit: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    df = credit[0].iloc[:300]
    posts = posteriors(tvae, df)
    tr = traverse(tvae, None, "z1", [-2.0, 0.0, 2.0], posts=posts, seed=1)
    assert tr.values == [-2.0, 0.0, 2.0]
    assert all(len(v) == 3 for v in tr.means.values()) and all(len(v) == 3 for v in tr.jsd.values())
    assert set(tr.means) == set(df.columns)
    assert P.traversal_plot(tr).startswith(PNG)
    eff = latent_effects(tvae, None, shift=3.0, posts=posts)
    assert list(eff) == [f"z{i}" for i in range(1, 10)]
    assert all(len(e["shifts"]) == 19 for e in eff.values())
    with pytest.raises(SynthkitError, match="no latent block"):
        perturb(tvae, df, 0, block="c", shift=1.0)
    with pytest.raises(SynthkitError, match="finite"):
        traverse(tvae, df, "z1", [])


def test_conditioning_checks(msvae: Synthesizer, tvae: Synthesizer, credit: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    df = credit[0]
    c = conditioning_checks(msvae, df, seed=0, inactive_below=0.0)
    assert c["expected"] == "M2 > M1 > M3 ≫ M4"
    assert set(c["values"]) == {"M1", "M2", "M3", "M4"}
    assert all(0.0 <= v <= 1.0 for v in c["values"].values())
    assert set(c["m4_variants"]) == {"shuffled_y", "prior_y"} and c["floor"] < 0.2
    assert set(c["checks"]) == {"M2 > M1", "M1 > M3", "M3 ≥ 3·M4"} and isinstance(c["holds"], bool)
    assert c["holds"] == all(c["checks"].values())
    json.dumps(c, allow_nan=False)
    assert P.conditioning_plot(c).startswith(PNG)
    with pytest.raises(SynthkitError, match="MS-VAE only"):
        conditioning_checks(tvae, df)


def test_explain_end_to_end(msvae: Synthesizer, credit: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    df, factors = credit
    ex = explain(msvae, df, factors, max_rows=600, seed=0)
    d = ex.to_dict()
    json.loads(ex.to_json())
    assert d["rows"] == 600 and d["rows_given"] == 800 and d["method"] == "msvae"
    assert d["blocks"] == {"c": 9, "z": 9}
    assert set(d["correlations"]) == {"c", "z"} and set(d["disentanglement"]) == {"c", "z", "c+z"}
    assert 0.0 <= d["disentanglement"]["c"]["mig"] <= 1.0
    assert "mig_active" in d["disentanglement"]["c+z"]
    assert set(d["notes"]) == {f"{b}{i}" for b in "cz" for i in range(1, 10)}
    assert all(n["confidence"] in ("high", "medium", "low", "none") for n in d["notes"].values())
    assert d["conditioning"]["values"] is not None or d["conditioning"]["active_latents"] == []
    for name in ("information", "correlation_c", "correlation_z", "factor_mi_c", "factor_mi_c+z"):
        assert ex.figures[name].startswith(PNG), name
    assert any(k.startswith("perturbation_c") for k in ex.figures) and any(k.startswith("traversal_z") for k in ex.figures)
    assert all(isinstance(row, tuple) and len(row) == 3 for row in ex.headline())
    out = ex.write(tmp_path / "ex")
    assert (out / "explanation.json").is_file() and (out / "information.png").is_file()
    with pytest.raises(SynthkitError, match="row-aligned"):
        explain(msvae, df, factors.iloc[:10], plots=False)


def test_explain_without_factors_tvae(tvae: Synthesizer, credit: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ex = explain(tvae, credit[0], plots=False, max_rows=300)
    d = ex.to_dict()
    assert d["disentanglement"] is None and d["conditioning"] is None and ex.figures == {}
    assert set(d["notes"]) == {f"z{i}" for i in range(1, 10)}
    assert "Against the known generating factors" not in " ".join(ex.notes.values())


# ---------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(msvae: Synthesizer, credit: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("explain_cli")
    msvae.save(folder / "model")
    credit[0].to_csv(folder / "credit.csv", index=False)
    credit[1].to_csv(folder / "factors.csv", index=False)
    return folder / "model", folder / "credit.csv", folder / "factors.csv"


def test_cli_explain_one_latent(saved: tuple[Path, Path, Path]) -> None:
    model, data, factors = saved
    runner = CliRunner()
    res = runner.invoke(cli, ["explain", str(model), str(data), "--latent", "2", "--shift", "3", "--rows", "300",
                              "--factors", str(factors)])
    assert res.exit_code == 0, res.output
    assert "c2 shifted by +3 sd" in res.output and "JSD" in res.output and "note:" in res.output
    res = runner.invoke(cli, ["explain", str(model), "--latent", "1", "--block", "z", "--set", "-2", "--rows", "200"])
    assert res.exit_code == 0, res.output
    assert "z1 set to -2" in res.output and "generated by the model" in res.output
    res = runner.invoke(cli, ["explain", str(model), str(data), "--latent", "1", "--traverse", "-2:2:3", "--rows", "200"])
    assert res.exit_code == 0, res.output
    assert "traversal of c1" in res.output


def test_cli_explain_overview_and_output(saved: tuple[Path, Path, Path], tmp_path: Path) -> None:
    model, data, _ = saved
    res = CliRunner().invoke(cli, ["explain", str(model), str(data), "--rows", "200", "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "every latent coordinate" in res.output and "z9" in res.output
    assert (tmp_path / "out" / "explanation.json").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--latent", "10"], "out of range"),
        (["--latent", "0"], "out of range"),
        (["--latent", "1", "--shift", "1", "--set", "2"], "at most one"),
        (["--latent", "1", "--traverse", "a:b"], "LO:HI:STEPS"),
        (["--shift", "2"], "need --latent"),
    ],
)
def test_cli_explain_errors(saved: tuple[Path, Path, Path], args: list[str], needle: str) -> None:
    model, data, _ = saved
    res = CliRunner().invoke(cli, ["explain", str(model), str(data), "--rows", "50", *args])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], res.output


def test_parse_traverse() -> None:
    np.testing.assert_allclose(parse_traverse("-3:3:7"), np.linspace(-3, 3, 7))
    for bad in ("1:2", "1:2:1", "x:1:3", "1:2:3:4"):
        with pytest.raises(SynthkitError):
            parse_traverse(bad)
