"""Score `cskit voice` department routing on real buyer messages (issue 15).  Never run by CI.

    python benchmarks/eval_voice_real.py --jddc /work/corpora/jddc_chat_0.1per.txt \\
        --ecd /work/corpora/ecd_train.txt /work/corpora/ecd_valid.txt [--rules FILE] [--errors]

Reads the local copies of the public corpora (research use only: their text is never
committed), builds the development conversations with ``benchmarks/real_corpus.py`` (JDDC
sessions 501+ and the ECD sample; the held-out parts are never read) and routes the buyer
messages hand-labelled in ``benchmarks/labels/voice_real.csv`` (source, session_id,
message_index = the turn's index in the conversation, label = department ids joined by
';' or ``none``, part) with :func:`cskit.text.voice.route_texts`.

The labelled messages are, in two batches, ones the packaged rules fired on (up to 40 per
department) and random ones they did not fire on (110 with seed 15, then 60 with seed 16);
how they were drawn and the labelling guidelines are in docs/text.md ("Buyers' voice:
measured on real text").  ``part`` is ``tune`` when the SHA-1 of
``<session_id>#<message_index>`` is even, else ``report``; rules were tuned on the tune
part only.

Prints, per part, per-department precision / recall (a message routed to a department
counts as correct when the department is among its labels) and any-feedback
precision / recall.  It prints numbers, never a pass/fail.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cskit.text.voice import route_texts  # noqa: E402
from cskit.text.voice_rules import load_voice_rules  # noqa: E402
from real_corpus import load_all  # noqa: E402

LABELS = ROOT / "benchmarks" / "labels" / "voice_real.csv"


def read_labels(path: Path = LABELS) -> pd.DataFrame:
    with open(path, encoding="utf-8", newline="") as fh:
        df = pd.DataFrame(list(csv.DictReader(fh)))
    df["message_index"] = df["message_index"].astype(int)
    return df


def predict(texts: list[str], rules) -> list[set[str]]:
    codes, hits = route_texts(texts, rules)
    ids = np.array(rules.ids(), dtype=object)
    return [set(ids[hits[c]]) for c in codes]


def report(gold: list[set[str]], pred: list[set[str]], ids) -> str:
    lines = [f"{'department':<12}{'gold':>6}{'pred':>6}{'prec':>7}{'recall':>8}"]
    for d in list(ids) + ["any"]:
        if d == "any":
            g = [bool(x) for x in gold]
            p = [bool(x) for x in pred]
        else:
            g = [d in x for x in gold]
            p = [d in x for x in pred]
        tp = sum(a and b for a, b in zip(g, p))
        ng, np_ = sum(g), sum(p)
        pr = f"{tp / np_:.2f}" if np_ else "—"
        rc = f"{tp / ng:.2f}" if ng else "—"
        lines.append(f"{d:<12}{ng:>6}{np_:>6}{pr:>7}{rc:>8}")
    routed = [(g, p) for g, p in zip(gold, pred) if p]
    tp_all = sum(len(p & g) for g, p in routed)
    n_all = sum(len(p) for g, p in routed)
    lines.append(f"routing precision (all departments, micro): "
                 f"{tp_all}/{n_all} = {tp_all / n_all:.2f}" if n_all else "routing precision: —")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jddc", type=Path, required=True)
    ap.add_argument("--ecd", type=Path, nargs="*", default=[])
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--rules", type=Path, default=None)
    ap.add_argument("--errors", action="store_true",
                    help="list the ids (not the text) of the tune part's mistakes")
    args = ap.parse_args(argv)
    rules = load_voice_rules(args.rules)
    labels = read_labels(args.labels)
    convs = {c.session_id: c for c in load_all(args.jddc, args.ecd)}
    labels = labels[labels["session_id"].isin(convs)].reset_index(drop=True)
    texts = [convs[s].turns[i][1] for s, i in zip(labels["session_id"], labels["message_index"])]
    pred = predict(texts, rules)
    gold = [set() if g == "none" else set(g.split(";")) for g in labels["label"]]
    fresh = set()
    for f in sorted(args.labels.parent.glob("voice_fresh_*.csv")):
        ids = pd.read_csv(f, dtype={"session_id": str, "message_index": int})
        fresh |= set(zip(ids["session_id"], ids["message_index"]))
    is_fresh = np.array([(s, int(i)) in fresh for s, i in
                         zip(labels["session_id"], labels["message_index"])], dtype=bool)
    # report, fresh: the report part's blind labels nobody tuned on (every report-part buyer
    # message not labelled before, benchmarks/labels/voice_fresh_*.csv)
    for part in ("tune", "report", "report, fresh blind labels only"):
        sel = (labels["part"] == part).to_numpy() if part != "report, fresh blind labels only" \
            else is_fresh
        g = [x for x, s in zip(gold, sel) if s]
        p = [x for x, s in zip(pred, sel) if s]
        print(f"== {part} part: {sum(sel)} buyer messages")
        print(report(g, p, rules.ids()))
        print()
        if args.errors and part == "tune":
            for k in np.flatnonzero(sel):
                if gold[k] != pred[k]:
                    print(f"  {labels['session_id'][k]}#{labels['message_index'][k]}: "
                          f"gold {';'.join(sorted(gold[k])) or 'none'}  "
                          f"got {';'.join(sorted(pred[k])) or 'none'}")
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
