"""Evaluate the lost-sale reason classifier on the hand-labelled set.

    python benchmarks/eval_lost.py [--data tests/data/lost_labelled.jsonl] [--lexicon FILE]
                                   [--errors] [--ids a,b]

Prints precision / recall / F1 per reason (multi-label: a buyer's listed reasons
against the gold reasons), macro-F1 over the text reasons and 其他, micro-F1,
primary-reason accuracy, and with ``--errors`` every line the classifier got
wrong.  The signal reasons (未回复 / 回复慢 / 下单未付款) are inputs, not
predictions, so they are reported but not part of the macro average.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cskit.text.lexicon import load_lost_lexicon  # noqa: E402
from cskit.text.lost import classify  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "data" / "lost_labelled.jsonl"
SIGNAL_KEYS = {"slow": "slow", "unanswered": "unanswered", "unpaid": "unpaid_order"}


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def predict(rows: list[dict], lexicon=None) -> pd.DataFrame:
    """Classify the labelled conversations; one output row per input line, same order."""
    texts = pd.DataFrame([{"shop": "eval", "buyer_id": r["id"], "text": t}
                          for r in rows for t in r["texts"]])
    sig = pd.DataFrame([{"shop": "eval", "buyer_id": r["id"],
                         **{SIGNAL_KEYS[k]: bool(v) for k, v in r.get("signals", {}).items()}}
                        for r in rows])
    out = classify(texts, sig, lexicon=lexicon).set_index("buyer_id")
    return out.loc[[r["id"] for r in rows]].reset_index()


def evaluate(rows: list[dict], lexicon=None) -> dict:
    lex = load_lost_lexicon(lexicon) if not hasattr(lexicon, "reasons") else lexicon
    pred = predict(rows, lex)
    # reasons that count as 其他 (platform/account business) are never listed: not scored
    text_names = [r.name for r in lex.reasons if not r.counts_as_other] + [lex.other]
    signal_names = [s.name for s in lex.signals]
    gold = [set(r["reasons"]) for r in rows]
    got = [set(s.split(";")) for s in pred["reasons"]]
    per = {}
    for name in text_names + signal_names:
        tp = sum(name in g and name in p for g, p in zip(gold, got))
        fp = sum(name not in g and name in p for g, p in zip(gold, got))
        fn = sum(name in g and name not in p for g, p in zip(gold, got))
        prec = tp / (tp + fp) if tp + fp else float("nan")
        rec = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if tp else 0.0
        per[name] = {"tp": tp, "fp": fp, "fn": fn, "support": tp + fn, "precision": prec,
                     "recall": rec, "f1": f1}
    scored = [n for n in text_names if per[n]["support"] > 0]
    macro = sum(per[n]["f1"] for n in scored) / len(scored)
    tp = sum(per[n]["tp"] for n in scored)
    fp = sum(per[n]["fp"] for n in scored)
    fn = sum(per[n]["fn"] for n in scored)
    micro = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    primary_acc = sum(r["primary"] == p for r, p in zip(rows, pred["primary"])) / len(rows)
    exact = sum(g == p for g, p in zip(gold, got)) / len(rows)
    errors = [(r, p, pr) for r, p, pr in zip(rows, got, pred["primary"])
              if set(r["reasons"]) != p or r["primary"] != pr]
    return {"per_reason": per, "macro_f1": macro, "micro_f1": micro,
            "primary_accuracy": primary_acc, "exact_match": exact, "n": len(rows),
            "errors": errors, "text_names": text_names, "signal_names": signal_names}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--lexicon", type=Path, default=None)
    ap.add_argument("--errors", action="store_true", help="list misclassified lines")
    ap.add_argument("--ids", default=None, help="only these id prefixes, comma-separated")
    args = ap.parse_args(argv)
    rows = load(args.data)
    if args.ids:
        prefixes = tuple(args.ids.split(","))
        rows = [r for r in rows if r["id"].startswith(prefixes)]
    res = evaluate(rows, args.lexicon)
    w = max(len(n) for n in res["per_reason"]) + 2
    print(f"{'reason':<{w}}{'support':>8}{'prec':>8}{'recall':>8}{'F1':>8}")
    for name in res["text_names"] + res["signal_names"]:
        m = res["per_reason"][name]
        if m["support"] == 0 and m["fp"] == 0:
            continue
        tag = "  (signal input)" if name in res["signal_names"] else ""
        print(f"{name:<{w}}{m['support']:>8}{m['precision']:>8.3f}{m['recall']:>8.3f}"
              f"{m['f1']:>8.3f}{tag}")
    print(f"\nlines: {res['n']}  macro-F1 (text reasons + 其他): {res['macro_f1']:.3f}  "
          f"micro-F1: {res['micro_f1']:.3f}  primary accuracy: {res['primary_accuracy']:.3f}  "
          f"exact reason set: {res['exact_match']:.3f}")
    if args.errors:
        print("\nmisclassified:")
        for r, got, prim in res["errors"]:
            print(f"  {r['id']}: {' / '.join(r['texts'])}\n      gold {sorted(r['reasons'])} "
                  f"[{r['primary']}]  got {sorted(got)} [{prim}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
