"""Every defect class of the messy credit data (synthkit datasets credit --messy) against its
ground truth: what synthkit's schema and relation detection find, and what a fit gives back."""

import numpy as np
import pytest

from synthkit.datasets import simulate_messy_credit
from synthkit.tabular.io import read_table
from synthkit.tabular.relations import detect_relations, hold_rates
from synthkit.tabular.schema import ColumnKind, infer_schema
from synthkit.tabular.synthesizer import Synthesizer


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    df, truth = simulate_messy_credit(6000, seed=0)
    path = tmp_path_factory.mktemp("messy") / "messy.csv"
    df.to_csv(path, index=False)
    table = read_table(path)  # as `synthkit fit messy.csv` reads it
    schema = infer_schema(table)
    schema.relations = detect_relations(table, schema)
    return table, truth, schema


def _relation_keys(schema):
    out = set()
    for r in schema.relations:
        out.add((r.type, r.target, tuple(sorted(r.sources))))
    return out


def test_heaped_columns_are_on_their_support(messy):
    table, truth, schema = messy
    assert schema["interest_rate"].kind is ColumnKind.DISCRETE  # finite support
    assert "multiples of 25" in (schema["loan_amount"].heaping or "")
    assert schema["annual_income"].heaping and "1,000" in schema["annual_income"].heaping


def test_sentinels_and_outliers_are_point_masses(messy):
    table, truth, schema = messy
    for col, codes in truth["sentinels"].items():
        spec = schema[col]
        if spec.kind is ColumnKind.DISCRETE:
            continue  # a category of its own already
        for code in codes:
            assert float(code) in spec.point_masses, (col, code, spec.point_masses)
    for col, values in truth["outliers"].items():
        assert set(map(float, values)) <= set(schema[col].point_masses)


def test_every_relation_of_the_truth_is_found(messy):
    table, truth, schema = messy
    found = {(r.type, r.target): r for r in schema.relations}
    by_target = {}
    for r in schema.relations:
        by_target.setdefault(r.target, []).append(r)
        for s in r.sources:
            by_target.setdefault(s, []).append(r)
    for rel in truth["relations"]:
        t = rel["type"]
        if t == "fd":
            assert ("lookup", rel["dependent"]) in found or ("lookup", rel["determinant"]) in found, rel
        elif t == "lookup":
            assert ("lookup", rel["target"]) in found, rel
        elif t in ("linear", "copy", "rescale"):
            cols = {rel["target"], *(rel.get("terms") or [rel.get("source")])}
            # Found as stated, or both columns determined by the same other relation (a rate
            # and its fraction are both a lookup of sub-grade and month).
            same = any(r.type in ("linear", "lookup") and {r.target, *r.sources} == cols for r in schema.relations)
            both = all(any(r.type in ("linear", "lookup") and r.target == c for r in schema.relations) for c in cols - {
                c for c in cols if not any(r.target == c for r in schema.relations)}) and any(
                r.target in cols for r in schema.relations if r.type in ("linear", "lookup"))
            assert same or both, rel
        elif t == "annuity":
            assert ("annuity", rel["target"]) in found, rel
        elif t == "order" and rel.get("exceptions", 0) <= 0.001 * len(table):
            assert any(r.type == "order" and r.target == rel["lesser"] and r.sources == [rel["greater"]]
                       for r in schema.relations) or any(
                r.type == "order" and r.target == rel["lesser"] for r in schema.relations), rel
        elif t == "missing_together":
            cols = set(rel["columns"])
            assert all(any(r.type in ("missing_together", "missing_iff") for r in by_target.get(c, [])) for c in cols), rel
        elif t == "missing_iff":
            cond = rel["condition"]["column"]
            assert any(r.type == "missing_iff" and r.sources == [cond] for r in schema.relations), rel


def test_formats_and_literal_categories_are_read(messy):
    table, truth, schema = messy
    for col, fmt in truth["formats"].items():
        spec = schema[col]
        if fmt["kind"] == "tz_datetime":
            assert spec.kind is ColumnKind.DATETIME and spec.offset_format, col
        else:
            assert spec.number_format, col
    for col, levels in truth["na_categories"].items():
        assert set(levels) <= set(table[col].dropna()), col


def test_a_fit_keeps_relations_missingness_and_support(messy):
    table, truth, schema = messy
    synth = Synthesizer("betatcvae", seed=0, epochs=15, progress=False).fit(table, track=False)
    out = synth.sample(3000, seed=1)
    for r in hold_rates(out, synth.schema, synth.schema.relations):
        assert r["output"] >= r["data"] - 0.002, r
    # Missing shares come back near the data's (joint fields exactly via the relation).
    for col, share in truth["missingness"].items():
        assert abs(out[col].isna().mean() - table[col].isna().mean()) < 0.08, col
    rates = table["interest_rate"].dropna().unique()
    assert out["interest_rate"].dropna().isin(rates).all()
    amounts = out["loan_amount"].dropna().to_numpy(float)
    assert np.all(amounts % 25 == 0)
    counts = table["emp_title"].value_counts()
    assert not out["emp_title"].isin(set(counts[counts < 5].index)).any()
    for col, levels in truth["na_categories"].items():
        assert set(out[col].dropna()) <= set(table[col].dropna())
