"""The sample's monthly sales targets (销售目标) for `cskit score --targets`, in
``sample_data/_score/`` (a folder `cskit ingest` skips: targets are not an export)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["TARGETS", "targets_frame", "write_targets"]

#: the target of the 1st, 2nd, 3rd … agent of a shop, per month of the sample (元)
TARGETS = (20000, 15000, 12000)


def targets_frame(data) -> pd.DataFrame:
    """shop, agent_id, month, sales_target — every agent of every shop, each month covered."""
    months = sorted({d.strftime("%Y-%m") for d in pd.date_range(data.start, periods=data.days)})
    rows = [(s.name, a, mo, TARGETS[min(i, len(TARGETS) - 1)])
            for s in data.shops for i, a in enumerate(s.agent_ids()) for mo in months]
    return pd.DataFrame(rows, columns=["shop", "agent_id", "month", "sales_target"])


def write_targets(root: Path, data) -> Path:
    d = root / "_score"
    d.mkdir(parents=True, exist_ok=True)
    path = d / "targets.csv"
    frame = targets_frame(data).rename(columns={"shop": "店铺", "agent_id": "客服", "month": "月份",
                                                 "sales_target": "销售目标"})
    path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
    return path
