"""Score cskit's promise detection (日清, issue 15 item 4) on real conversations.

    python benchmarks/eval_promises_real.py --jddc /path/chat_0.1per.txt \
        --ecd /path/ECD_sample/train [--ecd /path/ECD_sample/valid] [--rules FILE] [--errors tune]

Builds the development conversations from local copies of the public corpora
(:mod:`benchmarks.real_corpus`: JDDC sessions 501+ and the ECD train/valid samples; the
held-out JDDC sessions 1-500 and ECD test are never read), runs cskit's own
:func:`cskit.text.promises.detect` on the whole synthetic chat log, and compares it with the
hand labels in ``benchmarks/labels/promises_real.csv`` (source, session_id, turn, promise
0/1, sampled_as; no text — the corpora allow research use only).  Guidelines:
docs/promises.md, "Labelling guidelines".

``sampled_as`` says how a message came into the set: ``fired`` (the rules of the first
draft fired on it), ``keyword`` (a broad promise-word regex matched, the rules did not) and
``random`` (neither); ``fired_v2``/``keyword_v2`` and ``fired_v3`` are later rounds (every
message later rules fire on gets labelled; docs/promises.md); ``h6_tune_all`` is every
remaining agent message of the tune part, labelled without the detector's output (its own row,
``tune_all``: recall on every agent message, not on a pooled sample).  The labelled messages are split ONCE by a hash of the session id
(sha1 mod 10 < 6: tune, else report), as in eval_qc_real.py.  Rounds 1-3 tuned on the tune
part only; from round 4 on the whole old dev set (both parts) is tuning data and the honest
number comes from the separate untouched test2 set (docs/promises.md).  ``--errors
tune|report|all`` prints that part's errors (ids and text, to the terminal only); ``--only-tune`` leaves the report part's numbers
out (for tuning rounds).  Never in CI.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_corpus import as_messages, load_all  # noqa: E402
from cskit.text.promises import detect  # noqa: E402

LABELS = ROOT / "benchmarks" / "labels" / "promises_real.csv"


def part(session_id: str) -> str:
    """The one split: ~60 % tune, ~40 % report, by a hash of the session id."""
    return "tune" if int(hashlib.sha1(session_id.encode()).hexdigest(), 16) % 10 < 6 \
        else "report"


def predictions(convs, rules=None, tiers=("confident",)) -> tuple[set[tuple[str, int]], dict]:
    """(session id, turn) of every agent turn cskit calls a promise (by default the confident
    tier, as `cskit promises` lists; ``tiers=TIERS``: as ``--all``); and the texts."""
    m = as_messages(convs)
    m["turn"] = m.groupby("buyer_id", sort=False).cumcount()
    d = detect(m, rules, tiers=tiers)
    hit = m.loc[d["row"].to_numpy()]
    texts = {(s, int(t)): c for s, t, c in zip(m["buyer_id"], m["turn"], m["content"])}
    return set(zip(hit["buyer_id"], hit["turn"].astype(int))), texts


def score(items: list[tuple[int, int]]) -> dict:
    tp = sum(g and p for g, p in items)
    fp = sum(p and not g for g, p in items)
    fn = sum(g and not p for g, p in items)
    return {"n": len(items), "gold": tp + fn, "flagged": tp + fp, "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jddc", required=True)
    ap.add_argument("--ecd", action="append", default=[])
    ap.add_argument("--rules", default=None)
    ap.add_argument("--errors", choices=["tune", "report", "all"], default=None)
    ap.add_argument("--only-tune", action="store_true",
                    help="print the tune part only (no report-part numbers: for tuning rounds)")
    a = ap.parse_args(argv)
    convs = load_all(a.jddc, a.ecd)
    pred, texts = predictions(convs, a.rules)
    labels = list(csv.DictReader(open(LABELS, encoding="utf-8")))
    parts: dict[str, list] = {"tune": [], "report": [], "all": []}
    every: list = []  # the tune part's exhaustive sample (sampled_as h6_tune_all)
    fresh: list = []  # the report part's blind labels nobody tuned on (sampled_as fresh_report)
    labelled = set()
    errors = []
    for r in labels:
        key = (r["session_id"], int(r["turn"]))
        if key not in texts:
            print(f"missing {key}: the corpus copy differs", file=sys.stderr)
            continue
        g, p = r["promise"] == "1", key in pred
        labelled.add(key)
        if r["sampled_as"] == "fresh_report":
            fresh.append((g, p))
        pt = part(r["session_id"])
        parts[pt].append((g, p))
        parts["all"].append((g, p))
        if pt == "tune" and r["sampled_as"].endswith("_all"):
            every.append((g, p))
        if a.errors in (pt, "all") and g != p:
            errors.append(("FN" if g else "FP", key, texts[key]))
    print(f"promise detection on real conversations ({len(labels)} labelled agent messages)")
    print(f"{'part':8}{'n':>5}{'gold':>6}{'flag':>6}{'tp':>5}{'fp':>5}{'fn':>5}"
          f"{'precision':>11}{'recall':>8}")
    rows = {"tune": parts["tune"], "tune_all": every} if a.only_tune else \
        {**parts, "tune_all": every, "fresh": fresh}
    for name, items in rows.items():
        s = score(items)
        print(f"{name:8}{s['n']:>5}{s['gold']:>6}{s['flagged']:>6}{s['tp']:>5}{s['fp']:>5}"
              f"{s['fn']:>5}{s['precision']:>11.3f}{s['recall']:>8.3f}")
    for name in ("tune",) if a.only_tune else ("tune", "report"):
        n = sum(1 for key in pred if part(key[0]) == name and key not in labelled)
        print(f"flagged but not labelled in the {name} part: {n}")
    for kind, key, text in errors:
        print(kind, key[0], key[1], text[:120])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
