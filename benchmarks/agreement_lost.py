"""Inter-annotator agreement on the lost-reason dev set's report part (issue 14).  Never run by CI.

    python benchmarks/agreement_lost.py [--jddc /work/corpora/jddc_chat_0.1per.txt \\
        --ecd /work/corpora/ecd_train.txt /work/corpora/ecd_valid.txt]

``benchmarks/labels/lost_real.csv`` holds annotator 1's primary concern per conversation;
``benchmarks/labels/lost_real_second.csv`` a second, blind annotation of the *report* part
by another person following the same guidelines (docs/text.md, "Accuracy: real
conversations"), made without seeing annotator 1's labels or any classifier output.

Prints the number of conversations both labelled, raw agreement, Cohen's kappa and the
confusion between the two annotators (counts only, never text).  With the local corpus
copies (``--jddc`` / ``--ecd``, as for ``eval_real.py``) it also runs cskit's lost-reason
classifier (``eval_real.predict``) on those conversations and prints its primary-reason
accuracy against annotator 1, against annotator 2, and on the subset where both agree —
the disagreement rate is the ceiling any classifier can be judged against.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import eval_real  # noqa: E402

FIRST = ROOT / "benchmarks" / "labels" / "lost_real.csv"
SECOND = ROOT / "benchmarks" / "labels" / "lost_real_second.csv"
ORDER = ["price", "shipping", "stock", "size", "quality", "logistics", "payment", "returns",
         "compare", "aftersale", "other"]


def read(path: Path) -> dict[str, str]:
    """session_id → label."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["session_id"]: r["label"] for r in csv.DictReader(fh)}


def kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa of two label lists of equal length.

    >>> round(kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"]), 3)   # po .75, pe .5
    0.5
    >>> kappa(["x", "x"], ["x", "x"])                                  # pe = 1: undefined
    nan
    """
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return float("nan") if pe == 1 else (po - pe) / (1 - pe)


def accuracy(gold: list[str], pred: list[str]) -> str:
    if not gold:
        return "— (no conversations)"
    hit = sum(g == p for g, p in zip(gold, pred))
    return f"{hit / len(gold):.3f} ({hit}/{len(gold)})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--first", type=Path, default=FIRST, help="annotator 1 (lost_real.csv)")
    ap.add_argument("--second", type=Path, default=SECOND, help="annotator 2")
    ap.add_argument("--jddc", type=Path, default=None, help="local chat_0.1per.txt")
    ap.add_argument("--ecd", type=Path, nargs="*", default=[], help="local ECD train/valid")
    args = ap.parse_args(argv)
    one, two = read(args.first), read(args.second)
    ids = [s for s in two if s in one]
    if len(ids) < len(two):
        print(f"{len(two) - len(ids)} second-annotator ids not in {args.first.name}", file=sys.stderr)
    a1 = [one[s] for s in ids]
    a2 = [two[s] for s in ids]
    agree = sum(x == y for x, y in zip(a1, a2))
    print(f"== inter-annotator agreement: {len(ids)} conversations")
    print(f"raw agreement {agree / len(ids):.3f} ({agree}/{len(ids)}) · "
          f"Cohen's kappa {kappa(a1, a2):.3f}")
    labels = [i for i in ORDER if i in a1 or i in a2] + sorted(set(a1 + a2) - set(ORDER))
    c1, c2 = Counter(a1), Counter(a2)
    print(f"{'label':<12}{'ann.1':>7}{'ann.2':>7}{'both':>7}")
    for lab in labels:
        both = sum(x == y == lab for x, y in zip(a1, a2))
        print(f"{lab:<12}{c1[lab]:>7}{c2[lab]:>7}{both:>7}")
    print("confusion (rows annotator 1, columns annotator 2; . = 0):")
    print(eval_real.confusion(a1, a2, labels).replace("gold→pred", "ann1→ann2"))
    if args.jddc is None and not args.ecd:
        return 0
    convs = {c.session_id: c for c in eval_real.load_all(args.jddc, args.ecd)}
    have = [i for i, s in enumerate(ids) if s in convs]
    if len(have) < len(ids):
        print(f"{len(ids) - len(have)} sessions not found in the files given", file=sys.stderr)
    sids = [ids[i] for i in have]
    pred = eval_real.predict([convs[s] for s in sids]).loc[sids, "primary_id"].tolist()
    g1, g2 = [a1[i] for i in have], [a2[i] for i in have]
    both = [k for k in range(len(sids)) if g1[k] == g2[k]]
    print()
    print(f"== cskit lost primary reason on these {len(sids)} conversations")
    print(f"vs annotator 1            {accuracy(g1, pred)}")
    print(f"vs annotator 2            {accuracy(g2, pred)}")
    print(f"where both agree          {accuracy([g1[k] for k in both], [pred[k] for k in both])}")
    either = sum(p in (x, y) for p, x, y in zip(pred, g1, g2))
    print(f"matches either annotator  {either / len(sids):.3f} ({either}/{len(sids)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
