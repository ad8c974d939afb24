"""Are two cskit stores the same?  The manifests list the same part files (kind, shop,
month, rows, batch, in order) and each pair of part files holds the same table: rows,
row order, values (keys included), column types and schema metadata.  Only the part
files' names (a random id) may differ.  Used to check a change to the ingest writes the
store it wrote before:

    python benchmarks/compare_stores.py STORE_A STORE_B

Prints one line and exits 0 when they are the same, 1 (with the first difference) when not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq


def differences(a: Path, b: Path) -> list[str]:
    ma = json.loads((a / "_cskit_manifest.json").read_text(encoding="utf-8"))
    mb = json.loads((b / "_cskit_manifest.json").read_text(encoding="utf-8"))
    out = []
    if ma["batch"] != mb["batch"]:
        out.append(f"batch {ma['batch']} != {mb['batch']}")
    fields = ("kind", "shop", "month", "rows", "batch")
    la = [tuple(f.get(k) for k in fields) for f in ma["files"]]
    lb = [tuple(f.get(k) for k in fields) for f in mb["files"]]
    if la != lb:
        out.append(f"manifests differ: {len(la)} / {len(lb)} files; first: "
                   f"{next((x, y) for x, y in zip(la + [None] * len(lb), lb + [None] * len(la)) if x != y)}")
        return out
    for fa, fb in zip(ma["files"], mb["files"]):
        ta, tb = pq.read_table(a / fa["path"]), pq.read_table(b / fb["path"])
        if not ta.equals(tb):
            out.append(f"{fa['path']} / {fb['path']}: tables differ")
        elif ta.schema.metadata != tb.schema.metadata:
            out.append(f"{fa['path']} / {fb['path']}: schema metadata differs")
    return out


def main() -> None:
    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    diff = differences(a, b)
    files = len(json.loads((a / "_cskit_manifest.json").read_text(encoding="utf-8"))["files"])
    if diff:
        print(f"DIFFERENT ({len(diff)}): {diff[0]}")
        raise SystemExit(1)
    print(f"same: {files} part files, rows, order, values, types and schema metadata")


if __name__ == "__main__":
    main()
