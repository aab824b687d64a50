"""Relations between columns: detection, declaration, enforcement (synthkit.tabular.relations)."""

import json

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import SynthkitError
from synthkit.tabular.relations import (
    Relation,
    detect_relations,
    fit_declared,
    hold_rates,
    load_relations,
    parse_relations,
)
from synthkit.tabular.schema import Schema, infer_schema
from synthkit.tabular.synthesizer import Synthesizer


def loans(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    sub = rng.choice([f"{g}{i}" for g in "ABCDE" for i in range(1, 6)], n)
    grade = np.array([s[0] for s in sub], dtype=object)
    amount = np.round(rng.lognormal(np.log(12_000), 0.5, n) / 25) * 25
    term = rng.choice([36, 60], n, p=[0.7, 0.3])
    rate = np.array([{"A": 6.0, "B": 9.5, "C": 13.0, "D": 17.5, "E": 22.0}[g] for g in grade]) + rng.choice([0, 0.5, 1.0], n)
    i = rate / 1200
    installment = np.round(amount * i / (1 - (1 + i) ** -term), 2)
    principal = np.round(amount * rng.uniform(0, 0.5, n), 2)
    interest = np.round(principal * rng.uniform(0.05, 0.3, n), 2)
    fees = np.where(rng.random(n) < 0.05, 15.0, 0.0)
    app = rng.choice(["individual", "joint"], n, p=[0.8, 0.2])
    joint = np.where(app == "joint", np.round(rng.lognormal(11, 0.4, n), -2), np.nan)
    joint_dti = np.where(app == "joint", np.round(rng.uniform(5, 40, n), 2), np.nan)
    funded = np.where(rng.random(n) < 0.8, amount, np.round(amount * rng.uniform(0.5, 1, n) / 25) * 25)
    price = np.round(amount / rng.uniform(0.5, 0.95, n), -2)
    return pd.DataFrame({
        "sub_grade": sub, "grade": grade, "loan_amount": amount, "term": term, "interest_rate": rate,
        "installment": installment, "paid_principal": principal, "paid_interest": interest, "paid_late_fees": fees,
        "paid_total": np.round(principal + interest + fees, 2), "application_type": app,
        "annual_income_joint": joint, "dti_joint": joint_dti, "funded_amount": funded, "price": price,
        "ltv": amount / price, "income": np.round(rng.lognormal(11, 0.5, n), -3),
    })


@pytest.fixture(scope="module")
def frame():
    return loans()


def _by_target(rels, order=False):
    return {r.target: r for r in rels if (r.type == "order") == order}


def test_detects_each_kind_of_relation(frame):
    found = detect_relations(frame, infer_schema(frame))
    rels = _by_target(found)
    orders = _by_target(found, order=True)
    assert rels["grade"].type == "lookup" and rels["grade"].sources == ["sub_grade"]
    assert rels["paid_total"].type == "linear"
    assert sorted(rels["paid_total"].sources) == ["paid_interest", "paid_late_fees", "paid_principal"]
    assert rels["paid_total"].params["coefficients"] == [1, 1, 1]
    assert rels["installment"].type == "annuity" and rels["installment"].sources == ["loan_amount", "interest_rate", "term"]
    assert rels["ltv"].type == "ratio" and rels["ltv"].describe() == "ltv = loan_amount / price"
    # Equal in 80 % of rows, lower in the rest: a difference whose range keeps the order (and implies
    # funded ≤ price through loan_amount ≤ price, so that order is not listed).
    assert rels["funded_amount"].type == "difference" and rels["funded_amount"].sources == ["loan_amount"]
    assert rels["funded_amount"].params["high"] == 0 and "funded_amount" not in orders
    missing = {r.type for r in rels.values() if r.target in ("annual_income_joint", "dti_joint")}
    assert missing == {"missing_iff", "missing_together"}
    iff = next(r for r in rels.values() if r.type == "missing_iff")
    assert iff.sources == ["application_type"] and iff.params["values"] == ["individual"]
    # Nothing about the free column.
    assert "income" not in rels and "income" not in orders


def test_no_relations_among_independent_columns():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000), "c": rng.choice(list("xyz"), 2000),
                       "d": rng.integers(0, 5, 2000), "e": rng.lognormal(size=2000)})
    assert detect_relations(df, infer_schema(df)) == []


def test_near_exact_relation_is_kept_with_exceptions(frame):
    df = frame.copy()
    df.loc[[3, 40], "grade"] = "Z"  # two rows break sub_grade → grade
    rel = _by_target(detect_relations(df, infer_schema(df)))["grade"]
    assert rel.exceptions == 2 and 0.999 <= rel.holds < 1
    assert "2 exception(s)" in rel.describe()


def test_output_keeps_every_relation(frame):
    synth = Synthesizer("betatcvae", seed=0, epochs=3, progress=False).fit(frame, track=False)
    out = synth.sample(2000, seed=1)
    rates = hold_rates(out, synth.schema, synth.schema.relations)
    assert len(rates) == len(synth.schema.relations) >= 8
    for r in rates:
        assert r["output"] >= r["data"] - 1e-9, r
    # Missingness pattern exactly as declared by the relation, values where needed.
    joint = out["application_type"] == "joint"
    assert out.loc[joint, "annual_income_joint"].notna().all()
    assert out.loc[~joint, "annual_income_joint"].isna().all()


def test_relations_survive_save_and_load(frame, tmp_path):
    synth = Synthesizer("betatcvae", seed=0, epochs=2, progress=False).fit(frame, track=False)
    synth.save(tmp_path / "m")
    back = Synthesizer.load(tmp_path / "m")
    assert [r.describe() for r in back.schema.relations] == [r.describe() for r in synth.schema.relations]
    pd.testing.assert_frame_equal(back.sample(300, seed=4), synth.sample(300, seed=4))


def test_declared_relations_replace_detection_and_are_checked(frame, tmp_path):
    schema = infer_schema(frame)
    declared = parse_relations([{"type": "linear", "target": "paid_total",
                                 "sources": ["paid_principal", "paid_interest", "paid_late_fees"]}])
    fitted = fit_declared(frame, schema, declared)
    assert fitted[0].params["coefficients"] == [1.0, 1.0, 1.0] and fitted[0].source == "metadata"
    synth = Synthesizer("betatcvae", seed=0, epochs=2, progress=False, relations=[
        {"type": "order", "target": "funded_amount", "sources": ["loan_amount"]}]).fit(frame, track=False)
    assert [r.type for r in synth.schema.relations] == ["order"]
    out = synth.sample(1000)
    assert (out["funded_amount"] <= out["loan_amount"]).all()


def test_declared_relation_broken_by_the_data_is_a_one_line_error(frame):
    schema = infer_schema(frame)
    with pytest.raises(SynthkitError) as err:
        fit_declared(frame, schema, parse_relations([{"type": "linear", "target": "paid_total",
                                                      "sources": ["paid_principal", "paid_interest"]}]))
    msg = str(err.value)
    assert "\n" not in msg and "paid_total" in msg and "first data row" in msg
    with pytest.raises(SynthkitError, match="not in the data"):
        fit_declared(frame, schema, parse_relations([{"type": "order", "target": "nope", "sources": ["price"]}]))
    with pytest.raises(SynthkitError, match="unknown type"):
        parse_relations([{"type": "sum", "target": "a", "sources": ["b"]}])
    with pytest.raises(SynthkitError, match="needs 3 source"):
        parse_relations([{"type": "annuity", "target": "a", "sources": ["b"]}])


def test_saved_schema_relations_load_back(frame, tmp_path):
    schema = infer_schema(frame)
    schema.relations = detect_relations(frame, schema)
    path = tmp_path / "schema.json"
    path.write_text(schema.to_json())
    loaded = load_relations(path)
    assert [r.describe() for r in loaded] == [r.describe() for r in schema.relations]
    again = fit_declared(frame, schema, loaded)
    assert len(again) == len(loaded)
    assert Schema.from_dict(json.loads(path.read_text())).relations[0].describe() == schema.relations[0].describe()
    path.write_text(json.dumps({"columns": {}}))
    assert load_relations(path) is None


def test_relation_dict_round_trip():
    r = Relation("lookup", "grade", ["sub_grade"], 0.9995, {"table": [["A1", "A"]]}, n_rows=2000, exceptions=1)
    back = Relation.from_dict(r.to_dict(), source="inferred")
    assert back.describe() == r.describe() and back.params == r.params


def _rate_table(n=6000, seed=0):
    """Rates set per (grade, month) from a rate table, with a few rows on the previous table,
    and a rate that is once-off for one row (a value that must never be emitted)."""
    rng = np.random.default_rng(seed)
    grade = rng.choice(list("ABCDE"), n)
    month = rng.choice(["Jan", "Feb", "Mar"], n)
    base = {"A": 5.0, "B": 8.0, "C": 11.0, "D": 14.0, "E": 17.0}
    shift = {"Jan": 0.0, "Feb": 0.25, "Mar": 0.5}
    rate = np.array([base[g] + shift[m] for g, m in zip(grade, month)])
    old = rng.random(n) < 0.05  # still on the previous month's table
    rate[old] -= 0.25
    rate[0] = 99.0
    return pd.DataFrame({"grade": grade, "month": month, "rate": rate, "income": rng.lognormal(11, 0.4, n).round(-2)})


def test_near_determined_column_is_drawn_given_its_key():
    df = _rate_table()
    rels = detect_relations(df, infer_schema(df))
    cond = next(r for r in rels if r.target == "rate")
    assert cond.type == "conditional" and cond.sources == ["grade", "month"]
    assert 0.94 <= cond.params["mode_share"] <= 0.96
    assert cond.exceptions == 1  # the once-off rate, pooled with its key's usual rate
    assert "rate is drawn given (grade, month)" in cond.describe()
    synth = Synthesizer("betatcvae", seed=0, epochs=3, progress=False).fit(df, track=False)
    # Drawn, so not modelled: no model column for it.
    assert "rate" not in {sp.column for sp in synth.transformer.spans}
    assert {r["column"]: r["width"] for r in synth.transformer.describe()}["rate"] == 0
    out = synth.sample(6000, seed=2)
    assert out["rate"].dtype == df["rate"].dtype and out["rate"].notna().all()
    assert 99.0 not in set(out["rate"])
    # The rate keeps its key's distribution: the usual rate in ~95 % of rows, never a rate
    # the key did not have.
    usual = np.array([{"A": 5.0, "B": 8.0, "C": 11.0, "D": 14.0, "E": 17.0}[g] + {"Jan": 0, "Feb": 0.25, "Mar": 0.5}[m]
                      for g, m in zip(out["grade"], out["month"])])
    assert 0.93 <= (out["rate"].to_numpy() == usual).mean() <= 0.97
    assert set(out["rate"].to_numpy() - usual) <= {0.0, -0.25}
    assert all(r["output"] == 1.0 for r in hold_rates(out, synth.schema, [cond]))


def test_near_constant_column_is_not_drawn_given_a_key():
    rng = np.random.default_rng(3)
    n = 5000
    df = pd.DataFrame({"k": rng.choice(list("abcd"), n), "flag": np.where(rng.random(n) < 0.97, "no", "yes"),
                       "x": rng.normal(size=n)})
    assert not [r for r in detect_relations(df, infer_schema(df)) if r.type == "conditional"]


def test_declared_conditional_learns_its_table():
    df = _rate_table()
    schema = infer_schema(df)
    rel = fit_declared(df, schema, parse_relations([{"type": "conditional", "target": "rate", "sources": ["grade", "month"]}]))[0]
    assert rel.type == "conditional" and rel.params["table"] and rel.exceptions == 1


def test_unseen_key_of_a_drawn_column_takes_a_donor_value():
    df = _rate_table()
    schema = infer_schema(df)
    schema.relations = fit_declared(df, schema, parse_relations([{"type": "conditional", "target": "rate",
                                                                    "sources": ["grade", "month"]}]))
    from synthkit.tabular.transformer import build_transformer

    t = build_transformer("mode_specific", schema).fit(df)
    decoded = {"grade": pd.Series(["B", "A", "C"]), "month": pd.Series(["Jan", "Apr", "Mar"]),
               "income": pd.Series([50_000.0] * 3)}
    out = t._assemble(decoded, 3, np.random.default_rng(1))
    assert out["rate"].iloc[0] in (8.0, 7.75) and out["rate"].iloc[2] in (11.5, 11.25)
    assert out["rate"].iloc[1] in (out["rate"].iloc[0], out["rate"].iloc[2])  # "Apr" never occurred


def _codec(decimals):
    def codec(column):
        d = decimals[column]
        to_num = lambda s: pd.to_numeric(s).to_numpy(dtype=float)
        from_num = lambda x, direction=0: pd.Series(np.round(np.asarray(x, dtype=float), d) if d is not None else x)
        return to_num, from_num
    return codec


def test_a_long_chain_of_orders_is_fixed_in_every_row():
    """c0 ≤ c1 ≤ … ≤ c5, generated in random order: raising the high side settles the chain
    whatever order the relations are listed in (each pass fixes every relation, not only the
    first one broken)."""
    from synthkit.tabular.relations import enforce

    rng = np.random.default_rng(0)
    n, k = 500, 6
    values = rng.integers(0, 50, (n, k)).astype(float)
    rels = [Relation("order", f"c{i}", [f"c{i + 1}"], 1.0) for i in reversed(range(k - 1))]
    decoded = {f"c{i}": pd.Series(values[:, i]) for i in range(k)}
    enforce(decoded, rels, _codec({f"c{i}": 0 for i in range(k)}), rng)
    out = np.column_stack([decoded[f"c{i}"].to_numpy(dtype=float) for i in range(k)])
    assert np.all(np.diff(out, axis=1) >= 0)
    np.testing.assert_array_equal(out[:, 0], values[:, 0])  # the low end is never moved


def test_an_order_holds_between_values_and_leaves_sentinel_codes_alone():
    """open ≤ total in every row but those coded 999 ("not reported", 1 %): found, the codes
    named in the relation, a 999 row is no violation, and enforcement neither moves a coded
    row nor gives a broken row a coded pair."""
    from synthkit.tabular.relations import enforce, violations

    rng = np.random.default_rng(0)
    n = 3000
    total = rng.integers(0, 40, n)
    open_ = rng.binomial(total, 0.55).astype(float)
    open_[rng.choice(n, 30, replace=False)] = 999.0
    df = pd.DataFrame({"total": total, "open": open_})
    schema = infer_schema(df)
    assert {c.name: c for c in schema.columns}["open"].sentinels == [999.0]
    found = [r for r in detect_relations(df, schema) if r.type == "order"]
    assert [(r.target, r.sources, r.params) for r in found] == [("open", ["total"], {"codes": {"open": [999.0]}})]
    rel = found[0]
    assert rel.exceptions == 0 and "999 aside" in rel.describe()
    specs = {c.name: c for c in schema.columns}
    assert not violations(df, specs, rel).any()
    # Generated rows: independent draws (a third break the order), and some coded rows.
    gen_total = rng.integers(0, 40, n).astype(float)
    gen_open = rng.integers(0, 40, n).astype(float)
    coded = rng.random(n) < 0.05
    gen_open[coded] = 999.0
    decoded = {"open": pd.Series(gen_open), "total": pd.Series(gen_total)}
    enforce(decoded, [rel], _codec({"open": 0, "total": 0}), rng)
    out_open, out_total = decoded["open"].to_numpy(dtype=float), decoded["total"].to_numpy(dtype=float)
    np.testing.assert_array_equal(out_open[coded], 999.0)  # codes stay codes
    np.testing.assert_array_equal(out_total[coded], gen_total[coded])
    values = out_open != 999.0
    assert values.sum() == (~coded).sum()  # no broken row took a coded pair
    assert np.all(out_open[values] <= out_total[values])
    assert not violations(pd.DataFrame({"open": out_open, "total": out_total}), specs, rel).any()


def test_generated_quotient_stands_and_its_numerator_is_solved():
    """loanprc = loanamt / price: the model's ratio (heaped at 0.8) and price are kept, the
    amount follows as 0.8 · price rounded, the ratio is recomputed and holds exactly."""
    from synthkit.tabular.relations import enforce

    rng = np.random.default_rng(0)
    n = 2000
    price = rng.integers(100, 400, n).astype(float)
    ratio = np.where(rng.random(n) < 0.4, 0.8, np.round(rng.uniform(0.5, 1.0, n), 3))
    amount = np.round(rng.uniform(50, 400, n))  # generated independently: a poor quotient
    rel = Relation("ratio", "loanprc", ["loanamt", "price"], 1.0, params={"exponents": [1.0, -1.0], "factor": 1.0})
    decoded = {"loanprc": pd.Series(ratio), "loanamt": pd.Series(amount), "price": pd.Series(price)}
    enforce(decoded, [rel], _codec({"loanprc": None, "loanamt": 0, "price": 0}), rng, point_masses={"loanprc": [0.8]})
    out = {k: v.to_numpy(dtype=float) for k, v in decoded.items()}
    np.testing.assert_allclose(out["loanprc"], out["loanamt"] / out["price"])
    assert np.all(out["loanamt"] == np.round(out["loanamt"]))
    near = np.abs(out["loanprc"] - 0.8) <= 0.5 / out["price"] + 1e-12  # within the amount's rounding
    assert near.mean() >= 0.39
    exact_target = (price * 0.8) == np.round(price * 0.8)
    np.testing.assert_allclose(out["loanprc"][(ratio == 0.8) & exact_target], 0.8, rtol=1e-12)
    assert np.abs(np.corrcoef(out["loanprc"], ratio)[0, 1]) > 0.95  # the generated ratio stands


def test_a_source_in_another_relation_is_not_solved():
    from synthkit.tabular.relations import enforce

    rng = np.random.default_rng(1)
    n = 500
    price = rng.integers(100, 400, n).astype(float)
    amount = np.round(rng.uniform(50, 400, n))
    ratio = np.full(n, 0.8)
    rels = [
        Relation("ratio", "loanprc", ["loanamt", "price"], 1.0, params={"exponents": [1.0, -1.0], "factor": 1.0}),
        Relation("linear", "fee", ["loanamt"], 1.0, params={"coefficients": [0.01], "intercept": 0.0}),
        Relation("linear", "tax", ["price"], 1.0, params={"coefficients": [0.02], "intercept": 0.0}),
    ]
    decoded = {"loanprc": pd.Series(ratio), "loanamt": pd.Series(amount), "price": pd.Series(price),
               "fee": pd.Series(np.zeros(n)), "tax": pd.Series(np.zeros(n))}
    enforce(decoded, rels, _codec({"loanprc": None, "loanamt": 0, "price": 0, "fee": 2, "tax": 2}), rng,
            point_masses={"loanprc": [0.8]})
    # fee and tax depend on the sources: both untouched, the ratio computed from them.
    np.testing.assert_array_equal(decoded["loanamt"].to_numpy(), amount)
    np.testing.assert_array_equal(decoded["price"].to_numpy(), price)
    np.testing.assert_allclose(decoded["loanprc"].to_numpy(), amount / price)


def _loan_tape(n=3000, seed=0):
    """A loan book 2–5 payments in, on its amortisation schedule, plus loans paid off and a few
    paid early (off the schedule)."""
    from synthkit.tabular.relations import annuity_payment, scheduled_balance

    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(np.log(12_000), 0.5, n) / 25) * 25
    rate = rng.choice([6.5, 9.9, 13.2, 17.5], n)
    term = rng.choice([36, 60], n)
    month = rng.choice(["Jan", "Feb", "Mar"], n)
    k = np.array([{"Jan": 5, "Feb": 4, "Mar": 3}[m] for m in month]).astype(float)
    k = np.where(rng.random(n) < 0.05, term, k)
    installment = np.round(annuity_payment(amount, rate, term, 1200.0, 1.0), 2)
    balance = np.round(scheduled_balance(amount, rate, installment, term, k, 1200.0, 1.0), 2)
    early = rng.random(n) < 0.08
    balance = np.where(early, np.round(balance * rng.uniform(0.5, 0.9, n), 2), balance)
    return pd.DataFrame({"issue_month": month, "loan_amount": amount, "interest_rate": rate, "term": term,
                         "installment": installment, "paid_principal": np.round(amount - balance, 2),
                         "income": np.round(rng.lognormal(11, 0.5, n), -3)})


def test_loan_schedule_is_found_and_its_payment_count_is_modelled():
    df = _loan_tape()
    rels = detect_relations(df, infer_schema(df))
    sched = [r for r in rels if r.type == "schedule"]
    assert len(sched) == 1
    rel = sched[0]
    assert rel.target == "paid_principal" and rel.sources == ["loan_amount", "interest_rate", "installment", "term"]
    assert 0.88 <= rel.holds <= 0.95  # the 8 % paid early are its exceptions
    synth = Synthesizer("betatcvae", seed=0, epochs=5, progress=False).fit(df, track=False)
    out = synth.sample(2000, seed=1)
    assert rel.params["count"] not in out.columns and list(out.columns) == list(df.columns)
    rates = {r["relation"]: r for r in hold_rates(out, synth.schema, synth.schema.relations)}
    got = next(v for k, v in rates.items() if k.startswith("paid_principal = principal repaid"))
    assert got["output"] >= 0.8
    # The count the model learned follows the issue month, as the data's does.
    from synthkit.tabular.relations import schedule_count

    k = schedule_count(*[out[c].to_numpy(float) for c in (*rel.sources, rel.target)], rel.params)
    assert np.nanmean(k[out["issue_month"].to_numpy() == "Mar"]) < np.nanmean(k[out["issue_month"].to_numpy() == "Jan"])


def test_schedule_breaks_are_violations_and_the_relation_round_trips():
    from synthkit.tabular.relations import violations

    df = _loan_tape(500)
    schema = infer_schema(df)
    rel = fit_declared(df, schema, parse_relations([{"type": "schedule", "target": "paid_principal", "holds": 0.8,
                                                     "sources": ["loan_amount", "interest_rate", "installment",
                                                                 "term"]}]))[0]
    specs = {c.name: c for c in schema.columns}
    bad = violations(df, specs, rel)
    assert 0.03 < bad.mean() < 0.15
    broken = df.copy()
    broken.loc[0, "paid_principal"] += 10.0
    assert violations(broken, specs, rel)[0]
    assert Relation.from_dict(json.loads(json.dumps(rel.to_dict()))).params == rel.params


def test_schedule_holds_at_its_data_rate_when_the_model_leaves_counts_empty():
    """A model that leaves half the payment counts empty (the data: 10 % off the schedule)
    has the excess rows nearest a schedule point put on it: 90 % hold, as in the data."""
    from synthkit.tabular.relations import enforce, violations

    df = _loan_tape(2000)
    rel = Relation("schedule", "paid_principal", ["loan_amount", "interest_rate", "installment", "term"], 0.9,
                   params={"rate_scale": 1200.0, "term_scale": 1.0, "form": "repaid", "count": "k"})
    rng = np.random.default_rng(0)
    decoded = {c: df[c].copy() for c in df.columns}
    decoded["paid_principal"] = df["paid_principal"] * rng.uniform(0.97, 1.03, len(df))  # near, off the schedule
    decoded["k"] = pd.Series(np.where(rng.random(len(df)) < 0.5, np.nan, 4.0))
    enforce(decoded, [rel], _codec({c: 2 for c in ["paid_principal", "loan_amount", "interest_rate", "installment",
                                                   "term", "k"]}), rng)
    out = pd.DataFrame({c: decoded[c] for c in df.columns})
    held = 1 - violations(out, {c.name: c for c in infer_schema(df).columns}, rel).mean()
    assert 0.895 <= held <= 0.92


def bureau(n=3000, seed=0):
    """A count over the last 12 months and the months since the last event: ≤ 12 exactly when
    the count is positive, above 12 or empty (never happened) when it is 0."""
    rng = np.random.default_rng(seed)
    count = rng.poisson(1.2, n).astype(float)
    months = np.where(count > 0, rng.integers(0, 13, n), rng.integers(13, 40, n)).astype(float)
    months[(count == 0) & (rng.random(n) < 0.4)] = np.nan
    return pd.DataFrame({"inquiries_12m": count, "months_since_inquiry": months,
                         "income": np.round(rng.lognormal(10, 0.5, n), -2)})


def test_threshold_relation_is_found_described_and_round_trips():
    df = bureau()
    rels = [r for r in detect_relations(df, infer_schema(df)) if r.type == "threshold"]
    assert len(rels) == 1
    rel = rels[0]
    assert (rel.target, rel.sources) == ("months_since_inquiry", ["inquiries_12m"])
    assert rel.params["threshold"] == 12 and rel.params["positive"] == "low" and rel.params["missing"] == "zero"
    assert rel.holds == 1.0
    assert rel.describe().startswith("months_since_inquiry ≤ 12 exactly when inquiries_12m > 0")
    back = Relation.from_dict(json.loads(json.dumps(rel.to_dict())))
    assert back.params == rel.params
    # Rows on the wrong side are violations.
    broken = df.copy()
    broken.loc[broken.index[:20], "inquiries_12m"] = 0.0
    broken.loc[broken.index[:20], "months_since_inquiry"] = 3.0
    assert hold_rates(broken, infer_schema(df), [rel])[0]["output"] == pytest.approx(1 - 20 / len(df))


def test_no_threshold_where_the_sides_overlap():
    df = bureau()
    rng = np.random.default_rng(1)
    df["months_since_inquiry"] = rng.permutation(df["months_since_inquiry"].to_numpy())
    assert not [r for r in detect_relations(df, infer_schema(df)) if r.type == "threshold"]


def test_threshold_is_enforced_with_donors_from_the_right_group():
    df = bureau()
    (rel,) = [r for r in detect_relations(df, infer_schema(df)) if r.type == "threshold"]
    rng = np.random.default_rng(0)
    n = 2000
    count = pd.Series(rng.poisson(1.2, n).astype(float))
    months = pd.Series(rng.integers(0, 40, n).astype(float))  # a model that ignores the rule
    months[rng.random(n) < 0.2] = np.nan
    decoded = {"inquiries_12m": count, "months_since_inquiry": months}
    from synthkit.tabular.relations import enforce

    enforce(decoded, [rel], _codec({"inquiries_12m": 0, "months_since_inquiry": 0}), rng)
    m, c = decoded["months_since_inquiry"], decoded["inquiries_12m"]
    assert ((m[c > 0] <= 12) & m[c > 0].notna()).all()
    assert ((m[c == 0] > 12) | m[c == 0].isna()).all()
    assert m[c == 0].isna().any() and (m[c == 0] > 12).any()  # both allowed states kept, from the model's rows
    assert m[c > 0].nunique() == 13


def test_threshold_holds_in_the_synthesizer_output():
    df = bureau(2000)
    synth = Synthesizer("tvae", seed=0, epochs=3).fit(df, track=False)
    out = synth.sample(1000, seed=0)
    m, c = out["months_since_inquiry"], out["inquiries_12m"]
    assert ((m[c > 0] <= 12) & m[c > 0].notna()).all()
    assert ((m[c == 0] > 12) | m[c == 0].isna()).all()


def test_declared_threshold_learns_its_sides_and_a_broken_one_is_an_error():
    df = bureau()
    (rel,) = fit_declared(df, infer_schema(df), parse_relations(
        [{"type": "threshold", "target": "months_since_inquiry", "sources": ["inquiries_12m"]}]))
    assert rel.params["threshold"] == 12 and rel.params["positive"] == "low" and rel.exceptions == 0
    wrong = parse_relations([{"type": "threshold", "target": "months_since_inquiry", "sources": ["inquiries_12m"],
                              "threshold": 6, "positive": "low", "missing": "zero"}])
    with pytest.raises(SynthkitError, match=r"does not hold in the data: \d+ row\(s\) break it, first data row"):
        fit_declared(df, infer_schema(df), wrong)



def appraisals(n=2000, seed=0):
    """A price and an appraised value: equal in 40 % of rows, a few per cent above in most
    of the others; an income merely correlated with the price."""
    rng = np.random.default_rng(seed)
    price = np.round(rng.lognormal(5.2, 0.5, n))
    uplift = np.where(rng.random(n) < 0.4, 1.0, np.exp(np.abs(rng.normal(0, 0.06, n))))
    income = np.round(price * rng.lognormal(-2.5, 0.4, n), 1)
    return pd.DataFrame({"price": price, "appraised": np.round(price * uplift), "income": income})


def test_proportion_is_found_only_for_a_tight_ratio_and_round_trips():
    df = appraisals()
    rels = [r for r in detect_relations(df, infer_schema(df)) if r.type == "proportion"]
    assert [(r.target, r.sources) for r in rels] == [("appraised", ["price"])]  # not the income
    rel = rels[0]
    assert rel.params["ratio"] == "appraised ÷ price" and rel.params["low"] == 1.0
    assert rel.describe().startswith("appraised = price × ratio, ratio in 1–")
    back = Relation.from_dict(json.loads(json.dumps(rel.to_dict())))
    assert back.params == rel.params
    from synthkit.tabular.relations import violations

    specs = {c.name: c for c in infer_schema(df).columns}
    assert not violations(df, specs, rel).any()
    broken = df.copy()
    broken.loc[broken.index[:7], "appraised"] = broken["price"][:7] * 0.5  # below the lowest ratio
    assert violations(broken, specs, rel).sum() == 7


def test_proportion_ratio_is_modelled_hidden_and_equal_rows_come_back():
    df = appraisals()
    synth = Synthesizer("betatcvae", seed=0, epochs=30, progress=False).fit(df, track=False)
    rel = next(r for r in synth.schema.relations if r.type == "proportion")
    assert rel.params["ratio"] in [s.column for s in synth.transformer.spans]  # a hidden, modelled column
    out = synth.sample(2000, seed=1)
    assert list(out.columns) == list(df.columns)
    ratio = out["appraised"] / out["price"]
    assert (ratio >= 1 - 1e-9).all() and ratio.max() <= rel.params["high"] + 0.01
    # The data's 40 % of equal rows: the ratio's point mass at 1 gives them back exactly.
    assert 0.3 <= (out["appraised"] == out["price"]).mean() <= 0.5


def test_declared_proportion_learns_its_range():
    df = appraisals()
    (rel,) = fit_declared(df, infer_schema(df), parse_relations(
        [{"type": "proportion", "target": "appraised", "sources": ["price"]}]))
    assert rel.params["low"] == 1.0 and rel.params["high"] == pytest.approx((df.appraised / df.price).max())
    with pytest.raises(SynthkitError, match="does not hold in the data"):
        fit_declared(df, infer_schema(df), parse_relations(
            [{"type": "proportion", "target": "appraised", "sources": ["price"], "low": 1.0, "high": 1.01}]))


def test_proportion_target_is_computed_on_its_lattice():
    rng = np.random.default_rng(3)
    loan = 25 * rng.integers(40, 1400, 3000).astype(float)
    cut = 25 * np.floor(loan * rng.uniform(0.02, 0.3, 3000) / 25)
    funded = np.where(rng.random(3000) < 0.85, loan, loan - cut)
    df = pd.DataFrame({"loan": loan, "funded": funded, "term": rng.choice([36, 60], 3000)})
    rel = next(r for r in detect_relations(df, infer_schema(df)) if r.type == "proportion")
    assert (rel.target, rel.sources, rel.params["step"]) == ("funded", ["loan"], 25.0)
    out = Synthesizer("betatcvae", seed=0, epochs=5, progress=False).fit(df, track=False).sample(1000, seed=0)
    assert (out["funded"] % 25 == 0).all() and (out["funded"] <= out["loan"]).all()


def applications(n=1500, seed=0):
    """An application timestamp written with UTC offsets and its issue month as a label."""
    rng = np.random.default_rng(seed)
    local = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 181 * 86400, n), unit="s")
    offsets = rng.choice(["+00:00", "-05:00", "-08:00"], n)
    return pd.DataFrame({"application_ts": local.strftime("%Y-%m-%d %H:%M:%S") + offsets,
                         "issue_month": local.strftime("%b-%Y"), "amount": np.round(rng.lognormal(9, 0.5, n), -1)})


def test_date_part_is_found_on_local_time_and_holds_in_the_output():
    df = applications()
    rels = [r for r in detect_relations(df, infer_schema(df)) if r.type == "date_part"]
    assert [(r.target, r.sources, r.params["format"]) for r in rels] == [("issue_month", ["application_ts"], "%b-%Y")]
    rel = rels[0]
    assert rel.holds == 1.0 and rel.describe() == "issue_month = application_ts written as '%b-%Y'"
    assert Relation.from_dict(json.loads(json.dumps(rel.to_dict()))).params == rel.params
    out = Synthesizer("betatcvae", seed=0, epochs=5, progress=False).fit(df, track=False).sample(1000, seed=0)
    assert hold_rates(out, infer_schema(df), [rel])[0]["output"] == 1.0
    assert set(out["issue_month"]) <= set(df["issue_month"])


def test_declared_date_part_learns_its_format_and_a_wrong_one_is_an_error():
    df = applications()
    (rel,) = fit_declared(df, infer_schema(df), parse_relations(
        [{"type": "date_part", "target": "issue_month", "sources": ["application_ts"]}]))
    assert rel.params["format"] == "%b-%Y" and rel.exceptions == 0
    with pytest.raises(SynthkitError, match=r"does not hold in the data: \d+ row\(s\) break it"):
        fit_declared(df, infer_schema(df), parse_relations(
            [{"type": "date_part", "target": "issue_month", "sources": ["application_ts"], "format": "%Y-%m"}]))
    with pytest.raises(SynthkitError, match="not a datetime column"):
        fit_declared(df, infer_schema(df), parse_relations(
            [{"type": "date_part", "target": "issue_month", "sources": ["amount"]}]))


def bureau_counts(n=3000, seed=0):
    """Open lines and satisfactory accounts (equal in ~95 % of rows), months since the last
    delinquency and since the last 90-day late payment (often the same event, often empty),
    and two independent zero-inflated counts (both 0 in most rows, by chance alone)."""
    rng = np.random.default_rng(seed)
    open_lines = rng.poisson(9, n).astype(float)
    satisfactory = np.where(rng.random(n) < 0.95, open_lines, np.maximum(open_lines - rng.integers(1, 4, n), 0))
    delinq = np.where(rng.random(n) < 0.5, rng.integers(0, 80, n).astype(float), np.nan)
    late = np.where(rng.random(n) < 0.6, delinq, delinq + rng.integers(1, 40, n))
    late = np.where(rng.random(n) < 0.5, late, np.nan)
    liens = np.where(rng.random(n) < 0.9, 0.0, rng.integers(1, 4, n))
    collections = np.where(rng.random(n) < 0.9, 0.0, rng.integers(1, 4, n))
    return pd.DataFrame({"open_lines": open_lines, "satisfactory": satisfactory, "months_delinq": delinq,
                         "months_90d_late": late, "liens": liens, "collections": collections})


def test_difference_is_found_for_tied_columns_only_and_round_trips():
    df = bureau_counts()
    rels = [r for r in detect_relations(df, infer_schema(df)) if r.type == "difference"]
    # Not liens/collections: both 0 in 81 % of rows, as two independent 90 %-zero counts are.
    assert sorted((r.target, r.sources[0]) for r in rels) == [("months_90d_late", "months_delinq"),
                                                             ("satisfactory", "open_lines")]
    rel = next(r for r in rels if r.target == "satisfactory")
    assert rel.params["difference"] == "satisfactory − open_lines"
    assert rel.params["low"] == -3 and rel.params["high"] == 0 and rel.params["target_low"] == 0
    assert rel.describe() == ("satisfactory = open_lines + difference, difference in -3–0 "
                              "(modelled as 'satisfactory − open_lines')")
    assert Relation.from_dict(json.loads(json.dumps(rel.to_dict()))).params == rel.params
    from synthkit.tabular.relations import violations

    specs = {c.name: c for c in infer_schema(df).columns}
    assert not violations(df, specs, rel).any()
    broken = df.copy()
    broken.loc[broken.index[:5], "satisfactory"] = broken["open_lines"][:5] + 2  # above the largest difference
    assert violations(broken, specs, rel).sum() == 5


def test_difference_is_modelled_hidden_and_ties_and_missingness_come_back():
    df = bureau_counts()
    synth = Synthesizer("betatcvae", seed=0, epochs=30, progress=False).fit(df, track=False)
    rels = {r.target: r for r in synth.schema.relations if r.type == "difference"}
    spans = {s.column for s in synth.transformer.spans}
    assert {r.params["difference"] for r in rels.values()} <= spans  # hidden, modelled columns
    out = synth.sample(3000, seed=1)
    assert list(out.columns) == list(df.columns)
    gap = out["satisfactory"] - out["open_lines"]
    assert gap.between(-3, 0).all() and (out["satisfactory"] >= 0).all()
    # The data's ~95 % of tied rows come back through the difference's point mass at 0.
    assert 0.88 <= (gap == 0).mean() <= 0.99
    both = out["months_delinq"].notna() & out["months_90d_late"].notna()
    assert 0.45 <= (out["months_delinq"][both] == out["months_90d_late"][both]).mean() <= 0.75
    # The later event is empty about as often as in the data, and never without the earlier.
    assert abs(out["months_90d_late"].isna().mean() - df["months_90d_late"].isna().mean()) < 0.08
    assert not (out["months_90d_late"].notna() & out["months_delinq"].isna()).any()


def test_declared_difference_learns_its_range_and_needs_numbers():
    df = bureau_counts().assign(grade=lambda d: np.where(d.open_lines > 8, "A", "B"))
    (rel,) = fit_declared(df, infer_schema(df), parse_relations(
        [{"type": "difference", "target": "satisfactory", "sources": ["open_lines"]}]))
    assert (rel.params["low"], rel.params["high"]) == (-3.0, 0.0)
    with pytest.raises(SynthkitError, match="does not hold in the data"):
        fit_declared(df, infer_schema(df), parse_relations(
            [{"type": "difference", "target": "satisfactory", "sources": ["open_lines"], "low": -1, "high": 0,
              "target_low": 0, "target_high": 30}]))
    with pytest.raises(SynthkitError, match="'grade' is not a numeric column"):
        fit_declared(df, infer_schema(df), parse_relations(
            [{"type": "difference", "target": "grade", "sources": ["open_lines"]}]))
