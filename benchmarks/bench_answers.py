"""Time, CPU and peak memory of `cskit answers` on a large generated store (issue 16 item 5:
1 M messages in ≤ 60 s, peak ≤ 2 GB).

    python benchmarks/run.py --messages 1000000 --workdir /tmp/cskit-bench --repeat 1 --no-duckdb
    python benchmarks/bench_answers.py --store /tmp/cskit-bench/n1000000-s8/store [--repeat 3]

A chats-only store first gets the synthetic orders of ``bench_lost.py`` (without orders every
shop's conversion is unknown and the outcome step would be skipped).  It prints the wall
time (median of ``--repeat``, a fresh process incl. imports), user+sys CPU seconds, the
largest peak RSS, the rows and question groups listed, and what the store's buyer messages
look like (messages, distinct texts, distinct question keys): the bulk generator draws
buyer texts from a fixed phrase pool, so real chats have far more distinct texts — the
``--distinct SHARE`` option then times the text step (:func:`answer_pairs`) in-process on
the store's messages with SHARE of the buyer messages made unique (a random 1-6 digit number
and one of 50 two-character words put in front): the case of real chats, where jieba and the
key run once per distinct text.
Numbers only, never a pass/fail; not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _child import cskit_run, summarise  # noqa: E402
from bench_lost import add_orders  # noqa: E402

from cskit import schema  # noqa: E402
from cskit.store import Store  # noqa: E402


def describe(store: Store) -> dict:
    """Buyer messages, their distinct texts, how many are questions, distinct keys."""
    import pandas as pd

    from cskit.text.answers import load_answer_rules, question_keys

    texts = []
    n = 0
    for shop in store.shops(schema.MESSAGES):
        m = store.read(schema.MESSAGES, shops=[shop], columns=["sender", "content"])
        b = m.loc[m["sender"] == "buyer", "content"]
        n += len(b)
        texts.append(pd.Series(b.unique()))
    d = pd.concat(texts).drop_duplicates()
    q, k = question_keys(d.tolist(), load_answer_rules())
    return {"buyer_messages": n, "distinct_buyer_texts": int(len(d)),
            "distinct_question_texts": int(q.sum()),
            "distinct_question_keys": int(len(set(k[k != ""])))}


def distinct_case(store: Store, share: float, seed: int) -> dict:
    """answer_pairs over every shop with ``share`` of the buyer texts made unique."""
    import resource

    import numpy as np
    import pandas as pd

    from cskit.text.answers import answer_pairs, load_answer_rules

    rng = np.random.default_rng(seed)
    words = np.array([a + b for a in "红蓝白黑大小长短厚薄" for b in "色款码号"][:50], dtype=object)
    rules = load_answer_rules()
    n_distinct, t_total, c0, pairs = 0, 0.0, time.process_time(), 0
    for shop in store.shops(schema.MESSAGES):
        m = store.read(schema.MESSAGES, shops=[shop], columns=[
            "shop", "buyer_id", "agent_id", "sender", "sent_at", "content"])
        b = (m["sender"] == "buyer").to_numpy() & (rng.random(len(m)) < share)
        tail = (pd.Series(rng.integers(1, 10**6, int(b.sum()))).astype(str).to_numpy(dtype=object)
                + words[rng.integers(0, len(words), int(b.sum()))])
        c = m["content"].astype(object).to_numpy().copy()
        c[b] = tail + c[b]  # in front: a question stays a question (吗 at the end)
        m["content"] = c
        n_distinct += int(pd.Series(c[(m["sender"] == "buyer").to_numpy()]).nunique())
        t0 = time.perf_counter()
        pairs += len(answer_pairs(m, rules))
        t_total += time.perf_counter() - t0
    return {"distinct_share": share, "distinct_buyer_texts_then": n_distinct,
            "pairs_then": pairs, "answer_pairs_wall_s": round(t_total, 2),
            "answer_pairs_cpu_s": round(time.process_time() - c0, 2),
            "bench_process_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--distinct", type=float, default=0.0, metavar="SHARE")
    a = ap.parse_args(argv)
    store = Store(a.store)
    n_msgs = sum(e.rows for e in store.files(schema.MESSAGES))
    if not store.files(schema.ORDERS):
        t0 = time.perf_counter()
        n = add_orders(a.store, 0.30, 0.03, a.seed)
        print(f"added {n:,} synthetic orders in {time.perf_counter() - t0:.1f} s")
    out = {"messages": n_msgs, **describe(store)}
    runs = [cskit_run(["answers", "--store", str(a.store), "-f", "json", "--top", "20"])
            for _ in range(max(1, a.repeat))]
    m = summarise("answers", runs)
    rows = json.loads(runs[-1][3]).get("rows", [])
    out.update({"answers_wall_s": m["answers_s"], "answers_cpu_s": m["answers_cpu_s"],
                "answers_peak_mib": m["answers_peak_mib"],
                "rows": len(rows), "groups": len({(r["shop"], r["q_key"]) for r in rows}),
                "best_claimed": sum(bool(r["best"]) for r in rows),
                "load_avg": " ".join(f"{x:.2f}" for x in os.getloadavg())})
    if a.distinct > 0:
        out.update(distinct_case(store, a.distinct, a.seed))
    for k, v in out.items():
        print(f"{k:<26}{v}")
    print(f"(wall: a fresh process incl. start-up and imports, median of {a.repeat}; cpu = "
          f"user+sys of that process; peak = largest ru_maxrss; machine: {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
