"""Free text such as job titles: new values in the column's own words, never a rare original.

A job-title column of a loan table holds thousands of distinct values, most seen once
("sr. network engineer ii", "owner/operator"). Emitting a title seen once would single out
the person who wrote it; emitting only the frequent titles makes the column detectable (a
real table has ~40 % of titles nobody else has; a synthetic one would have none). So the
share that rare titles hold in the data is generated as *new* titles from a word chain:

* the vocabulary is the words that occur in at least `min_word_count` (5) different
  titles — a word that few people use is left out, so no rare spelling or name survives;
* a title is a walk through word-to-word transitions counted over all titles (first-order
  Markov chain, with start and end), case kept as the word's most common spelling;
* a walk that spells any training title, or is longer than the longest title, is drawn
  again — frequent titles have codes of their own, and rare ones must never be emitted; the
  titles are kept only as salted hashes, so the model file holds no rare original.

So the walks spell new combinations of common words ("senior account manager"), which is
what rare titles look like to a reader and to a detector.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_WORD = re.compile(r"\S+")
_START, _END = 0, 1


def _digest(salt: str, value: str) -> bytes:
    """Salted hash of a title, case and spacing folded ("Sr.  Engineer" = "sr. engineer")."""
    folded = " ".join(value.lower().split())
    return hashlib.blake2b(folded.encode("utf-8", "surrogatepass"), digest_size=12, key=salt.encode()[:64]).digest()


@dataclass
class WordChain:
    """First-order word chain over a text column (see the module docstring)."""

    salt: str
    min_word_count: int = 5
    words: list[str] = field(default_factory=list)
    #: Per state (0: start, then word index + 2): next states and cumulative probabilities.
    next_states: list[np.ndarray] = field(default_factory=list)
    next_cdf: list[np.ndarray] = field(default_factory=list)
    max_words: int = 8
    #: Salted hashes of the training titles, sorted (a set would pickle in the process's hash
    #: order, and two identical fits would write different model files).
    forbidden: list[bytes] = field(default_factory=list)

    def fit(self, values: list[Any], counts: np.ndarray, rare: list[Any]) -> bool:
        """Learn from the distinct `values` with their `counts`; `rare` (the caller passes
        every value) are never emitted.
        Returns False when the column has too few common words to build titles from."""
        texts = [str(v) for v in values]
        doc_words = Counter()
        spellings: dict[str, Counter] = {}
        for t in texts:
            toks = _WORD.findall(t)
            for w in set(x.lower() for x in toks):
                doc_words[w] += 1
            for w in toks:
                spellings.setdefault(w.lower(), Counter())[w] += 1
        vocab = sorted(w for w, c in doc_words.items() if c >= self.min_word_count)
        if len(vocab) < 5:
            return False
        index = {w: i + 2 for i, w in enumerate(vocab)}
        self.words = [spellings[w].most_common(1)[0][0] for w in vocab]
        trans: dict[int, Counter] = {}
        lengths = []
        for t, c in zip(texts, counts):
            toks = [index.get(w.lower()) for w in _WORD.findall(t)]
            if not toks or any(k is None for k in toks):
                continue  # titles with a rare word teach nothing the vocabulary can say
            lengths.append(len(toks))
            path = [_START, *toks, _END]
            for a, b in zip(path, path[1:]):
                trans.setdefault(a, Counter())[b] += float(c)
        if _START not in trans:
            return False
        self.max_words = max(lengths)
        n_states = len(vocab) + 2
        self.next_states, self.next_cdf = [], []
        for s in range(n_states):
            row = trans.get(s)
            if not row:
                self.next_states.append(np.array([_END]))
                self.next_cdf.append(np.array([1.0]))
                continue
            nxt = np.array(sorted(row))
            w = np.array([row[k] for k in nxt], dtype=float)
            self.next_states.append(nxt)
            self.next_cdf.append(np.cumsum(w) / w.sum())
        self.forbidden = sorted({_digest(self.salt, str(v)) for v in rare})
        return True

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        """Up to `n` titles; none spells a forbidden (training) title. All walks advance together, one
        word a step (a million titles take a few seconds, not minutes)."""
        out: list[str] = []
        forbidden = set(self.forbidden)
        for _ in range(50):
            need = n - len(out)
            if need <= 0:
                break
            batch = max(need + need // 4, 16)
            state = np.full(batch, _START)
            words = np.full((batch, self.max_words + 1), -1, dtype=np.int64)
            alive = np.ones(batch, dtype=bool)
            for step in range(self.max_words + 1):
                u = rng.random(batch)
                new = np.full(batch, _END)
                for s in np.unique(state[alive]):
                    rows = np.flatnonzero(alive & (state == s))
                    cdf = self.next_cdf[s]
                    pick = np.minimum(np.searchsorted(cdf, u[rows]), len(cdf) - 1)
                    new[rows] = self.next_states[s][pick]
                state = np.where(alive, new, state)
                alive &= state != _END
                words[alive, step] = state[alive] - 2
            too_long = alive  # still walking after max_words + 1 words
            for i in np.flatnonzero(~too_long):
                toks = words[i][words[i] >= 0]
                if len(toks) == 0:
                    continue
                text = " ".join(self.words[k] for k in toks)
                if _digest(self.salt, text) in forbidden:
                    continue
                out.append(text)
                if len(out) == n:
                    break
        return out  # fewer than n when the chain mostly spells training titles: the caller fills in
