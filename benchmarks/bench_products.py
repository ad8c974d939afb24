"""Time, CPU and peak memory of `cskit products` on a large generated store (issue 16 item 5).

    python benchmarks/run.py --messages 3000000 --workdir /tmp/cskit-bench --repeat 1 --no-duckdb
    python benchmarks/bench_lost.py --store /tmp/cskit-bench/n3000000-s8/store   # adds orders
    python benchmarks/bench_products.py --source /tmp/cskit-bench/n3000000-s8/store \
        --workdir /tmp/cskit-bench-products [--repeat 3] [--week 2026-W47]

The generated store has chats and orders but no products.  The source store is copied
(never changed) and the copy gets, deterministically for ``--seed``:

* order lines (``order_items``, as a 宝贝报表 CSV with an item id column): one line per
  order, a product of the shop's 20-item catalogue;
* product references: for ``--ref-share`` of the buyer-days, one more buyer message a
  second after the buyer's first one — a product link of the shop's platform (a JD shop:
  a row with the SKU column instead), of the product the buyer ordered when there is one
  (70 %), else of a random product of the shop.

Then `cskit products` runs in fresh processes (``/usr/bin/time -v``): wall time (median of
``--repeat``), user+sys CPU, peak RSS, and the number of product rows.  Numbers only;
not run by CI.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cskit import schema  # noqa: E402
from cskit.store import Store  # noqa: E402

N_PRODUCTS = 20
LINK = {"taobao": "https://item.taobao.com/item.htm?id={id}",
        "pdd": "https://mobile.yangkeduo.com/goods.html?goods_id={id}",
        "douyin": "https://haohuo.jinritemai.com/views/product/item2?id={id}",
        "jd": "https://item.jd.com/{id}.html", "generic": "https://item.jd.com/{id}.html"}


def _ids(shop_no: int) -> np.ndarray:
    return np.array([str(100_000_000 + shop_no * 1000 + k) for k in range(N_PRODUCTS)], object)


def add_products(store_dir: Path, ref_share: float, seed: int, tmp: Path) -> tuple[int, int]:
    """Order lines and product references for a store with chats and orders."""
    from cskit.ingest import ingest

    store = Store(store_dir)
    rng = np.random.default_rng(seed)
    items, chats, skus = [], [], []
    for no, shop in enumerate(store.shops()):
        ids = _ids(no)
        o = store.read(schema.ORDERS, shops=[shop], columns=["shop", "order_id", "buyer_id",
                                                            "amount", "created_at"])
        prod = rng.integers(0, N_PRODUCTS, len(o))
        items.append(pd.DataFrame({"订单编号": o["order_id"].to_numpy(),
                                   "标题": [f"商品{no}-{k}" for k in prod],
                                   "价格": o["amount"].fillna(0).to_numpy(), "购买数量": 1,
                                   "商品ID": ids[prod], "店铺名称": shop}))
        m = store.read(schema.MESSAGES, shops=[shop], columns=["shop", "platform", "buyer_id",
                                                              "sender", "sent_at"])
        m = m[m["sender"] == "buyer"]
        first = (m.assign(date=m["sent_at"].dt.normalize())
                 .drop_duplicates(["buyer_id", "date"]).reset_index(drop=True))
        pick = first[rng.random(len(first)) < ref_share].reset_index(drop=True)
        bought = pd.Series(ids[prod], index=o["buyer_id"].to_numpy()).groupby(level=0).first()
        own = pick["buyer_id"].map(bought).to_numpy(dtype=object)
        use_own = pd.notna(own) & (rng.random(len(pick)) < 0.7)
        ref = np.where(use_own, own, ids[rng.integers(0, N_PRODUCTS, len(pick))])
        platform = str(pick["platform"].iloc[0]) if len(pick) else "generic"
        at = (pick["sent_at"] + pd.Timedelta(seconds=1)).dt.strftime("%Y-%m-%d %H:%M:%S")
        frame = pd.DataFrame({"shop": shop, "platform": pick["platform"].to_numpy(),
                              "buyer_id": pick["buyer_id"].to_numpy(), "sender": "buyer",
                              "sent_at": at.to_numpy()})
        if platform == "jd":
            skus.append(frame.assign(content="这款有货吗", sku=ref))
        else:
            tpl = LINK.get(platform, LINK["generic"])
            chats.append(frame.assign(content=[tpl.format(id=i) for i in ref]))
    tmp.mkdir(parents=True, exist_ok=True)
    files = []
    pd.concat(items).to_csv(tmp / "ExportOrderDetailList_bench.csv", index=False)
    files.append(tmp / "ExportOrderDetailList_bench.csv")
    if chats:
        pd.concat(chats).to_csv(tmp / "product_links.csv", index=False)
        files.append(tmp / "product_links.csv")
    if skus:
        pd.concat(skus).to_csv(tmp / "product_skus.csv", index=False)
        files.append(tmp / "product_skus.csv")
    ingest(files, store)
    n_refs = sum(len(c) for c in chats) + sum(len(s) for s in skus)
    return sum(len(i) for i in items), n_refs


def timed(args: list[str]) -> tuple[float, float, float, str]:
    """(wall s, user+sys s, peak MiB, stdout) of `cskit ARGS` under /usr/bin/time -v."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "cskit", *args],
                       capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("cskit products failed")

    def field(name: str) -> float:
        return float(re.search(rf"{re.escape(name)}: ([\d.]+)", p.stderr).group(1))

    cpu = field("User time (seconds)") + field("System time (seconds)")
    return wall, cpu, field("Maximum resident set size (kbytes)") / 1024, p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, default=Path("/tmp/h2-3m/n3000000-s8/store"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/h5-bench"))
    ap.add_argument("--ref-share", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--week", default=None, help="also time one ISO week (with the week before)")
    a = ap.parse_args()
    store = a.workdir / "store"
    if not store.exists():
        shutil.copytree(a.source, store)
        t0 = time.perf_counter()
        n_items, n_refs = add_products(store, a.ref_share, a.seed, a.workdir / "in")
        print(f"added {n_items} order lines and {n_refs} product references "
              f"in {time.perf_counter() - t0:.1f} s")
    runs = [["products", "--store", str(store), "-f", "csv"]]
    if a.week:
        runs.append(runs[0] + ["--week", a.week])
    print(f"load average: {os.getloadavg()}")
    for args in runs:
        res = [timed(args) for _ in range(a.repeat)]
        walls = sorted(r[0] for r in res)
        rows = len(res[0][3].splitlines()) - 1
        print(f"{' '.join(args[3:]) or 'all dates':<24} wall median {walls[len(walls) // 2]:.2f} s "
              f"(min {walls[0]:.2f}), cpu {min(r[1] for r in res):.2f}-{max(r[1] for r in res):.2f} s, "
              f"peak {max(r[2] for r in res):.0f} MiB, {rows} product rows")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
