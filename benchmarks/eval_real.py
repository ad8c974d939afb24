"""Score cskit's lost-reason classifier on real conversations (issue 14).  Never run by CI.

    python benchmarks/eval_real.py --jddc /work/corpora/jddc_chat_0.1per.txt \\
        --ecd /work/corpora/ecd_train.txt /work/corpora/ecd_valid.txt [--lexicon FILE] [--errors]
        [--parts tune report all] [--folds]

Reads the local copies of the public corpora (research use only: their text is never
committed), builds the development conversations with ``benchmarks/real_corpus.py`` (JDDC
sessions 501+ and the ECD sample; the held-out parts are never read), keeps the ones
hand-labelled in ``benchmarks/labels/lost_real.csv`` and runs
:func:`cskit.text.lost.classify` on each whole conversation (buyer and agent turns, the
``sender`` column telling them apart) as one buyer-day.

Prints, for the old *tune* and *report* parts (split once by a hash of the session id)
and for *all* of them: per-reason precision / recall / F1 of the primary reason, primary
accuracy and the confusion matrix (rows gold, columns predicted); with ``--folds`` each
part's two halves (another hash); with ``--errors`` the ids (never the text), gold and
predicted reason of every miss; then the score on the committed labelled set
``tests/data/lost_labelled.jsonl``.  Since round 4 (2026-12-07, third session) the old
report part is tuning data too: all 571 are in-sample, the honest number comes from a new
set nobody tunes on.  It prints numbers, never a pass/fail.

``--test2 PATH`` (the earlier JDDC 2019 sample, see ``real_corpus.jddc_test2``) also scores
the untouched *test2* set labelled in ``benchmarks/labels/lost_real_test2.csv`` (nobody tuned
on it); ``--parts`` with no value skips the development parts::

    python benchmarks/eval_real.py --jddc /work/corpora/jddc_chat_0.1per.txt \\
        --test2 /work/corpora/jddc_chat_0.1per_3b38b33.txt --parts
"""

from __future__ import annotations

import argparse
import hashlib
import csv
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cskit.text.lexicon import load_lost_lexicon  # noqa: E402
from cskit.text.lost import classify  # noqa: E402
import eval_lost  # noqa: E402
from real_corpus import as_messages, jddc_test2, load_all  # noqa: E402

LABELS = ROOT / "benchmarks" / "labels" / "lost_real.csv"
LABELS_TEST2 = ROOT / "benchmarks" / "labels" / "lost_real_test2.csv"


def fold(session_id: str) -> int:
    """Half of the tune part a session falls in (a hash independent of the tune/report split)."""
    return int(hashlib.md5(("fold:" + session_id).encode()).hexdigest(), 16) % 2


def read_labels(path: Path = LABELS) -> pd.DataFrame:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return pd.DataFrame(list(reader), columns=reader.fieldnames)


def predict(convs, lexicon=None) -> pd.DataFrame:
    """Primary reason id per conversation (session_id → primary_id)."""
    msgs = as_messages(convs)
    msgs["date"] = msgs["sent_at"].dt.date
    out = classify(msgs[["shop", "buyer_id", "date", "sender", "content"]], lexicon=lexicon)
    return out.set_index("buyer_id")[["primary_id", "reason_ids"]]


def scores(gold: list[str], pred: list[str], ids: list[str]) -> tuple[str, float]:
    lines = [f"{'reason':<12}{'support':>8}{'pred':>6}{'prec':>7}{'recall':>7}{'F1':>7}"]
    for rid in ids:
        tp = sum(g == rid and p == rid for g, p in zip(gold, pred))
        ng, npred = gold.count(rid), pred.count(rid)
        if not ng and not npred:
            continue
        pr = tp / npred if npred else float("nan")
        rc = tp / ng if ng else float("nan")
        f1 = 2 * tp / (ng + npred) if ng + npred else float("nan")
        lines.append(f"{rid:<12}{ng:>8}{npred:>6}{pr:>7.2f}{rc:>7.2f}{f1:>7.2f}")
    acc = sum(g == p for g, p in zip(gold, pred)) / len(gold) if gold else float("nan")
    return "\n".join(lines), acc


def confusion(gold: list[str], pred: list[str], ids: list[str]) -> str:
    used = [i for i in ids if i in gold or i in pred]
    short = {i: i[:6] for i in used}
    head = f"{'gold→pred':<11}" + "".join(f"{short[i]:>7}" for i in used)
    c = Counter(zip(gold, pred))
    rows = [head] + [f"{g:<11}" + "".join(f"{c.get((g, p), 0) or '.':>7}" for p in used)
                     for g in used]
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jddc", type=Path, required=True, help="local chat_0.1per.txt")
    ap.add_argument("--ecd", type=Path, nargs="*", default=[], help="local ECD train/valid")
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--lexicon", type=Path, default=None)
    ap.add_argument("--errors", action="store_true",
                    help="list the session ids (not their text) the classifier got wrong, with "
                         "gold and predicted reason, for every part scored")
    ap.add_argument("--parts", nargs="*", choices=("tune", "report", "all"),
                    default=["tune", "report", "all"],
                    help="which parts to score (default all three). Since round 4 (2026-12-07, "
                         "third session) the old report part is tuning data too: `--parts all "
                         "--folds` is the check; `--parts` alone scores none (with --test2)")
    ap.add_argument("--test2", type=Path, default=None,
                    help="local copy of the earlier JDDC 2019 sample (data/chat_0.1per.txt at "
                         "commit 3b38b33): also score the untouched test2 set")
    ap.add_argument("--test2-labels", type=Path, default=LABELS_TEST2)
    ap.add_argument("--folds", action="store_true",
                    help="also score each part's two halves (split by another hash of the "
                         "session id): a rule that helps one half only is fitted, not general")
    args = ap.parse_args(argv)
    lex = load_lost_lexicon(args.lexicon)
    labels = read_labels(args.labels)
    convs = {c.session_id: c for c in load_all(args.jddc, args.ecd)}
    missing = [s for s in labels["session_id"] if s not in convs]
    if missing:
        print(f"{len(missing)} labelled sessions not found in the files given "
              f"(first: {missing[0]})", file=sys.stderr)
    labels = labels[labels["session_id"].isin(convs)]
    if len(labels):
        pred = predict([convs[s] for s in labels["session_id"]], lex)
        labels = labels.assign(pred=pred.loc[labels["session_id"], "primary_id"].to_numpy())
    else:
        labels = labels.assign(pred=pd.Series(dtype=object))
    test2 = None
    if args.test2:
        test2 = read_labels(args.test2_labels)
        convs2 = {c.session_id: c for c in jddc_test2(args.test2, args.jddc)}
        gone = [s for s in test2["session_id"] if s not in convs2]
        if gone:
            print(f"{len(gone)} test2 sessions not found in {args.test2} (first: {gone[0]})",
                  file=sys.stderr)
        test2 = test2[test2["session_id"].isin(convs2)]
        pred2 = predict([convs2[s] for s in test2["session_id"]], lex)
        test2 = test2.assign(pred=pred2.loc[test2["session_id"], "primary_id"].to_numpy())
    seen = set(labels["label"]) | set(labels["pred"])
    if test2 is not None:
        seen |= set(test2["label"]) | set(test2["pred"])
    ids = list(dict.fromkeys([r.id for r in lex.reasons] + ["other"] + sorted(seen)))
    for part in args.parts:
        sub = labels if part == "all" else labels[labels["part"] == part]
        gold, got = sub["label"].tolist(), sub["pred"].tolist()
        table, acc = scores(gold, got, ids)
        print(f"== {part} part: {len(sub)} conversations · primary accuracy {acc:.3f}")
        print(table)
        print(confusion(gold, got, ids))
        print()
        # misses of every part scored (those of "all" only when the two parts were not)
        if args.errors and (part != "all" or not {"tune", "report"} & set(args.parts)):
            for s, g, p in zip(sub["session_id"], gold, got):
                if g != p:
                    print(f"  {s}: gold {g}  got {p}")
            print()
        if args.folds:
            for f in (0, 1):
                half = sub[sub["session_id"].map(fold) == f]
                _, acc_f = scores(half["label"].tolist(), half["pred"].tolist(), ids)
                print(f"   {part} fold {f}: {len(half)} conversations · "
                      f"primary accuracy {acc_f:.3f}")
            print()
    if test2 is not None:
        gold, got = test2["label"].tolist(), test2["pred"].tolist()
        table, acc = scores(gold, got, ids)
        print(f"== test2 (untouched second JDDC sample): {len(test2)} conversations · "
              f"primary accuracy {acc:.3f}")
        print(table)
        print(confusion(gold, got, ids))
        print()
    res = eval_lost.evaluate(eval_lost.load(eval_lost.DEFAULT_DATA), lex)
    print(f"== committed set tests/data/lost_labelled.jsonl: {res['n']} lines · "
          f"macro-F1 {res['macro_f1']:.3f} · primary accuracy {res['primary_accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
