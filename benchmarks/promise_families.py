"""Flags and true flags per promise family, pattern and tier on each tuning set (issue 15, round 6).

    PYTHONPATH=. python benchmarks/promise_families.py --jddc /path/jddc_chat_0.1per.txt \
        --ecd /path/ecd_train.txt --ecd /path/ecd_valid.txt --test2 /path/jddc_chat_0.1per_3b38b33.txt \
        [--rules FILE] [--show PATTERN_ID]

The sets: the old development set (``promises_real.csv``, both parts), test2 (draw positions
0-199) and test3 (positions 300-499) — all tuning data from round 6 on.  test4 (positions
500-699) is the untouched set: it is never read here.  For every labelled agent message the
detector's family (the first that matches, as :func:`cskit.text.promises.detect` decides) and
the patterns of that family that match are found; the table gives, per set, the flags and the
true flags (label 1) per pattern, then per tier with precision and recall, and a leave-one-set-out
line per tier.  ``--show family:N`` prints that pattern's labelled matches (set, id, gold, text:
terminal only, never commit them).  Never in CI.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_corpus import as_messages, load_all, test2_sample  # noqa: E402
from cskit.text._regex import contains, replace  # noqa: E402
from cskit.text.promises import _BLANK, _distinct, clauses, load_promise_rules  # noqa: E402

LABELS = ROOT / "benchmarks" / "labels"
SETS = {"test2": (0, 200), "test3": (300, 500)}  # test4 (500-700) is untouched: never here


def labelled_sets(jddc: str, ecd: list[str], test2: str) -> dict[str, list[tuple[str, int, bool, str]]]:
    """set name → [(session id, turn, gold, text)] of every labelled agent message."""
    out = {}
    groups = {"old": (load_all(jddc, ecd), LABELS / "promises_real.csv")}
    draw = test2_sample(test2, jddc, n=max(b for _, b in SETS.values()))
    for name, (a, b) in SETS.items():
        groups[name] = (draw[a:b], LABELS / f"promises_real_{name}.csv")
    for name, (convs, path) in groups.items():
        m = as_messages(convs)
        m["turn"] = m.groupby("buyer_id", sort=False).cumcount()
        texts = {(s, int(t)): c for s, t, c in zip(m["buyer_id"], m["turn"], m["content"])}
        sessions = {c.session_id for c in convs}
        rows = []
        with open(path, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                k = (r["session_id"], int(r["turn"]))
                if r["session_id"] in sessions and k in texts:
                    rows.append((k[0], k[1], r["promise"] == "1", texts[k]))
        out[name] = rows
    return out


def attribute(texts: list[str], rules) -> tuple[np.ndarray, list[list[int]]]:
    """Per text: the family index that fires (-1 none) and the indices of that family's
    patterns that match (after clauses and exceptions, as detect does)."""
    codes, t = _distinct(texts)
    t = clauses(t, rules)
    exc = rules.exception_pattern()
    t = replace(t, exc, _BLANK) if exc else t
    fam = np.full(len(t), -1, dtype=np.int64)
    for i, (_, _, pat) in enumerate(rules.families):
        idx = np.flatnonzero(fam < 0)
        if not len(idx):
            break
        hit = contains(t.take(pa.array(idx)), pat)
        fam[idx[hit]] = i
    pats = [[] for _ in range(len(t))]
    for i in range(len(rules.families)):
        idx = np.flatnonzero(fam == i)
        if not len(idx):
            continue
        sub = t.take(pa.array(idx))
        for j, p in enumerate(rules.patterns[i]):
            for k in idx[contains(sub, p)]:
                pats[k].append(j)
    return fam[codes], [pats[c] for c in codes]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jddc", required=True)
    ap.add_argument("--ecd", action="append", default=[])
    ap.add_argument("--test2", required=True)
    ap.add_argument("--rules", default=None)
    ap.add_argument("--show", default=None, help="family:N — print that pattern's matches (terminal only)")
    ap.add_argument("--false", action="store_true",
                    help="print every false flag: set, id, tier, patterns, text (terminal only)")
    a = ap.parse_args(argv)
    rules = load_promise_rules(a.rules)
    sets = labelled_sets(a.jddc, a.ecd, a.test2)
    names = list(sets)
    per_pat = defaultdict(lambda: {n: [0, 0] for n in names})  # (fam, pattern) → set → [flags, true]
    per_tier = defaultdict(lambda: {n: [0, 0] for n in names})
    gold = {n: sum(g for _, _, g, _ in rows) for n, rows in sets.items()}
    shown = []
    for n, rows in sets.items():
        fam, pats = attribute([r[3] for r in rows], rules)
        for (sid, turn, g, text), f, ps in zip(rows, fam, pats):
            if f < 0:
                continue
            fid = rules.families[f][0]
            for p in ps:
                key = f"{fid}:{p}"
                per_pat[key][n][0] += 1
                per_pat[key][n][1] += g
                if a.show == key:
                    shown.append((n, sid, turn, int(g), text))
            tier = rules.tiers[f]
            if a.false and not g:
                shown.append((n, sid, turn, tier + " " + ",".join(f"{fid}:{p}" for p in ps), text))
            per_tier[tier][n][0] += 1
            per_tier[tier][n][1] += g
    print("pattern      " + "".join(f"{n:>12}" for n in names) + "   (flags/true)")
    for key in sorted(per_pat, key=lambda k: (k.split(":")[0], int(k.split(":")[1]))):
        tier = rules.tiers[[f[0] for f in rules.families].index(key.split(":")[0])]
        print(f"{key:12} " + "".join(f"{per_pat[key][n][0]:>7}/{per_pat[key][n][1]:<4}" for n in names)
              + f"   {tier}")
    print("\ntier        set     gold  flag  true  precision  recall")
    for tier in sorted(per_tier):
        for n in names:
            f, t = per_tier[tier][n]
            print(f"{tier:11} {n:6} {gold[n]:>5} {f:>5} {t:>5}  {t / f if f else float('nan'):>9.3f}"
                  f"  {t / gold[n]:>6.3f}")
    # the default output: confident flags only; and everything (--all)
    print("\ndefault (confident) and all tiers, per set:")
    for label, tiers in (("confident", ["confident"]), ("all", list(per_tier))):
        for n in names:
            f = sum(per_tier[t][n][0] for t in tiers)
            t_ = sum(per_tier[t][n][1] for t in tiers)
            print(f"  {label:9} {n:6} flagged {f:>4} true {t_:>4} precision "
                  f"{t_ / f if f else float('nan'):.3f} recall {t_ / gold[n]:.3f}")
    for n, sid, turn, g, text in shown:
        print(n, sid, turn, g, text[:160])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
