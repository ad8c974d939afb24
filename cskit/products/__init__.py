"""Products: which items buyers ask about, buy and leave (issue 16; docs/products.md)."""
