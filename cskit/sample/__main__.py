"""``python -m cskit.sample OUT_DIR [--seed N] [--messages N] [--shops N] [--days N]``."""

from .cli import main

raise SystemExit(main())
