"""``python -m cskit.sample``: the command line of the generator."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from .base import DEFAULT_SEED
from .bulk import generate_messages_bulk
from .bundle import write_sample
from .plan import generate
from .write_chats import write_canonical_csv

# =============================================================================== CLI


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cskit.sample OUT_DIR [--seed N] [--messages N] [--shops N] [--days N]``.

    Without ``--messages`` the full sample is written to OUT_DIR; with it, one
    canonical CSV ``OUT_DIR/messages_<N>.csv`` of N bulk messages.  Prints nothing.
    """
    ap = argparse.ArgumentParser(prog="python -m cskit.sample",
                                 description="Write cskit's deterministic sample data.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--messages", type=int, default=None,
                    help="write N bulk canonical messages instead of the sample")
    ap.add_argument("--shops", type=int, default=None, help="bulk: number of shops (8)")
    ap.add_argument("--days", type=int, default=None, help="days (sample 14, bulk 90)")
    args = ap.parse_args(argv)
    if args.messages is not None:
        df = generate_messages_bulk(args.messages, args.seed, shops=args.shops or 8,
                                    days=args.days or 90)
        write_canonical_csv(df, args.out_dir / f"messages_{args.messages}.csv")
        return 0
    data = generate(args.seed, days=args.days or 14)
    write_sample(args.out_dir, data)
    return 0
