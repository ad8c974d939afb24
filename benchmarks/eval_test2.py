"""Score `cskit qc` and `cskit promises` on test2, the untouched set (issues 14 and 15).  Never
run by CI.

    python benchmarks/eval_test2.py --jddc /path/chat_0.1per.txt --test2 /path/chat_0.1per_3b38b33.txt

test2 is an earlier draw of the JDDC 2019 sample, minus every session that overlaps the current
sample (see :func:`benchmarks.real_corpus.jddc_test2` and docs/text.md "An untouched test set
(test2)").  Every agent message of the first ``--n`` conversations of the seeded draw was
labelled blind (``benchmarks/labels/qc_real_test2.csv``, ``promises_real_test2.csv``) while the
rules were tuned on the old development set only.  Prints the same tables as
``eval_qc_real.py`` and ``eval_promises_real.py``, and how many flagged messages have no label
(0 when the labels are exhaustive).  Labels only: the corpus text is never printed.

``--set test3`` scores test3 instead: draw positions 300-499, every agent message labelled
blind (``qc_real_test3.csv``, ``promises_real_test3.csv``) after round 4 and never tuned on;
round 5 was tuned on test2 and the old development set, so test3 is its honest number.
From QC round 5 on test2 is tuning data: ``--errors`` lists every QC miss and false flag as
(session, turn, gold, flagged), ids only; the honest number comes from test3.

``--set test4``: draw positions 500-699, labelled blind after round 5 was measured on test3.
From round 6 on test2 and test3 are both tuning data (their errors may be listed) and test4 is
the untouched set: its errors are never listed.

Promises: the default (confident) tier is scored as `cskit promises` lists it, then both tiers
(`cskit promises --all`) on one line (round 6, docs/promises.md "Tiers").
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import eval_promises_real, eval_qc_real  # noqa: E402
from benchmarks.real_corpus import test2_sample  # noqa: E402
from cskit.text.lexicon import load_qc_rules  # noqa: E402
from cskit.text.promises import TIERS  # noqa: E402

LABELS = ROOT / "benchmarks" / "labels"
#: the labelled sets of the seeded draw: positions [first, last) of ``test2_sample``
SETS = {"test2": (0, 200), "test3": (300, 500), "test4": (500, 700)}
#: the set nobody may tune on: its errors are refused
UNTOUCHED = "test4"


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jddc", required=True, help="the current JDDC sample (overlap check only)")
    ap.add_argument("--test2", required=True, help="the earlier JDDC sample (test2)")
    ap.add_argument("--n", type=int, default=200, help="conversations of the draw labelled")
    ap.add_argument("--errors", choices=["qc", "promises"], default=None,
                    help="qc: list (session, turn, gold, flagged) of every QC miss and false flag, "
                    "ids only; promises: the promise errors (ids, gold, flagged, text: terminal "
                    "only). test2 is tuning data from round 5 on; the final number comes from test3")
    ap.add_argument("--set", choices=sorted(SETS), default="test2",
                    help="test2: draw positions 0-199; test3: positions 300-499 (both tuning data "
                    "from round 6 on); test4: positions 500-699, labelled blind after round 5, "
                    "never tuned on")
    ap.add_argument("--all-tiers", action="store_true",
                    help="score the confident and review tiers together (`cskit qc --all`) "
                    "instead of the default, confident flags only")
    a = ap.parse_args(argv)
    if a.errors and a.set == UNTOUCHED:
        ap.error(f"{UNTOUCHED} is the untouched set: its errors are not listed "
                 "(tune on test2 or test3)")
    first, last = SETS[a.set]
    convs = test2_sample(a.test2, a.jddc, n=last)[first:last] if a.set != "test2" \
        else test2_sample(a.test2, a.jddc, n=a.n)
    sessions = {c.session_id for c in convs}

    qc = load_qc_rules(None)
    ids = [r.id for r in qc.text_rules()]
    pred = eval_qc_real.predictions(convs, qc, review=a.all_tiers)
    labels = [r for r in _rows(LABELS / f"qc_real_{a.set}.csv") if r["session_id"] in sessions]
    done = {r["session_id"] for r in labels}
    keys = {(r["session_id"], int(r["turn"])) for r in labels}
    items = [(set() if r["rules"] == "none" else set(r["rules"].split(";")),
              pred.get((r["session_id"], int(r["turn"])), set())) for r in labels]
    unlabelled = sum(1 for k in pred if k[0] in done and k not in keys)
    if a.errors == "qc":
        for r, (gold, got) in zip(labels, items):
            if gold != got:
                print(a.set, r["session_id"], r["turn"],
                      "gold=" + (";".join(sorted(gold)) or "none"),
                      "flagged=" + (";".join(sorted(got)) or "none"))
        for k in sorted(k for k in pred if k[0] in done and k not in keys):
            print(a.set, k[0], k[1], "gold=unlabelled", "flagged=" + ";".join(sorted(pred[k])))
    tiers = "both tiers (cskit qc --all)" if a.all_tiers else "confident tier (cskit qc)"
    print(f"== QC on {a.set}: {len(done)} conversations, {len(items)} labelled agent messages; "
          f"{tiers}")
    fmt = {"precision": "{:.2f}".format, "recall": "{:.2f}".format}
    print(eval_qc_real.score(items, ids).to_string(index=False, formatters=fmt))
    print(f"   flagged but not labelled: {unlabelled}")

    hits, texts = eval_promises_real.predictions(convs)
    labels = [r for r in _rows(LABELS / f"promises_real_{a.set}.csv") if r["session_id"] in sessions]
    done = {r["session_id"] for r in labels}
    keys = {(r["session_id"], int(r["turn"])) for r in labels}
    s = eval_promises_real.score([(r["promise"] == "1", (r["session_id"], int(r["turn"])) in hits)
                                  for r in labels])
    unlabelled = sum(1 for k in hits if k[0] in done and k not in keys)
    print(f"\n== promises on {a.set}: {len(done)} conversations, {s['n']} labelled agent messages")
    print(f"gold {s['gold']} · flagged {s['flagged']} · tp {s['tp']} · fp {s['fp']} · fn {s['fn']}"
          f" · precision {s['precision']:.3f} · recall {s['recall']:.3f}")
    print(f"   flagged but not labelled: {unlabelled}")
    # round 6: the default is the confident tier; --all (both tiers) for the record
    every, _ = eval_promises_real.predictions(convs, tiers=TIERS)
    s = eval_promises_real.score([(r["promise"] == "1", (r["session_id"], int(r["turn"])) in every)
                                  for r in labels])
    print(f"   with --all (confident and weak tiers): flagged {s['flagged']} · tp {s['tp']} · "
          f"fp {s['fp']} · precision {s['precision']:.3f} · recall {s['recall']:.3f}")
    if a.errors == "promises":
        print("\nsession_id\tturn\tgold\tflagged\ttext")
        for r in labels:
            k = (r["session_id"], int(r["turn"]))
            gold, flagged = r["promise"] == "1", k in hits
            if gold != flagged:
                print(f"{k[0]}\t{k[1]}\t{int(gold)}\t{int(flagged)}\t{texts.get(k, '')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
