"""Free text (synthkit.tabular.text): new titles in common words, never a training title."""

import pickle

import numpy as np
import pandas as pd

from synthkit.tabular.schema import infer_column
from synthkit.tabular.text import WordChain
from synthkit.tabular.transformer import CategoryMap


def titles(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    level = ["senior", "junior", "lead", "assistant", "chief", "sr"]
    field = ["software", "sales", "account", "project", "data", "network", "nursing"]
    role = ["engineer", "manager", "analyst", "coordinator", "director", "specialist"]
    common = ["teacher", "driver", "nurse", "owner", "manager"]
    out = []
    for _ in range(n):
        u = rng.random()
        if u < 0.5:
            out.append(rng.choice(common))
        elif u < 0.8:
            out.append(f"{rng.choice(level)} {rng.choice(field)} {rng.choice(role)}")
        else:  # one-off titles with a personal touch
            out.append(f"{rng.choice(field)} {rng.choice(role)} at {rng.integers(10**6)} inc")
    return pd.Series(out, name="emp_title")


def test_chain_never_spells_a_training_title_and_uses_common_words():
    s = titles()
    counts = s.value_counts()
    chain = WordChain(salt="t")
    assert chain.fit(list(counts.index), counts.to_numpy(float), list(counts.index))
    out = chain.sample(3000, np.random.default_rng(1))
    assert len(out) > 100  # most walks here spell training titles: those are drawn again
    assert not set(out) & set(counts.index)
    vocab = {w.lower() for w in chain.words}
    assert all(w.lower() in vocab for t in out for w in t.split())
    # The one-off numbers (used by one title each) never appear.
    assert not any(ch.isdigit() for t in out for ch in t)
    assert chain.sample(50, np.random.default_rng(5)) == chain.sample(50, np.random.default_rng(5))


def test_model_file_holds_no_rare_title():
    s = titles()
    cmap = CategoryMap(infer_column(s))
    cmap.fit(s)
    assert cmap.text_model is not None
    blob = pickle.dumps(cmap)
    rare = [t for t, c in s.value_counts().items() if c < 5]
    assert rare and not any(t.encode() in blob for t in rare[:200])


def test_pooled_share_is_new_titles_and_frequent_ones_keep_their_rate():
    s = titles()
    cmap = CategoryMap(infer_column(s))
    cmap.fit(s)
    codes = cmap.encode(s)
    out = cmap.decode(codes, np.random.default_rng(0))
    counts = s.value_counts()
    frequent = set(cmap.categories)
    # Frequent labels keep their rate, up to the pooled rows a chain that mostly spells
    # training titles hands back to them.
    assert out.isin(frequent).mean() >= s.isin(frequent).mean()
    assert (~out.isin(set(counts.index))).any()  # and new titles where the chain finds them
    assert not out.isin(set(counts[counts < 5].index)).any()


def test_small_vocabulary_falls_back_to_similar_frequent_labels():
    s = pd.Series([f"x{i}" for i in range(60)] + ["alpha"] * 200 + ["beta"] * 100, name="code")
    cmap = CategoryMap(infer_column(s))
    cmap.fit(s)
    out = cmap.decode(cmap.encode(s), np.random.default_rng(0))
    assert set(out) <= {"alpha", "beta"}


def test_model_file_is_the_same_in_every_process(tmp_path):
    """Two fits in processes with different hash seeds pickle to the same bytes (a set of
    hashes would not)."""
    import os
    import subprocess
    import sys

    code = (
        "import pickle,sys; sys.path.insert(0, %r); from test_text import titles; "
        "from synthkit.tabular.schema import infer_column; from synthkit.tabular.transformer import CategoryMap; "
        "s = titles(); c = CategoryMap(infer_column(s)); c.fit(s); sys.stdout.buffer.write(pickle.dumps(c))"
    ) % os.path.dirname(__file__)
    blobs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed},
                       check=True).stdout
        for seed in ("1", "2")
    ]
    assert blobs[0] == blobs[1]
