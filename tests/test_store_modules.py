"""cskit.store is split by idea (the files and manifest / row identity and hashing / appending
and committing): every name callers, tests and benchmarks use stays importable from
cskit.store as the same object, the knobs read at call time live in one module each, and
each module stays a size a reader can hold."""

import subprocess
import sys
from pathlib import Path

import cskit.store as store
import cskit.store_files as files
import cskit.store_keys as keys
import cskit.store_pipeline as pipeline
import cskit.store_write as write
from tests.modules import assert_one_idea


def test_names_reexported_from_store():
    for name in ("MANIFEST", "LOCK", "FORMAT", "INTERNAL", "VERSIONED", "MAX_SHOP_SEGMENT",
                 "FileEntry", "Manifest", "shop_segment", "_partition_dir", "_damaged",
                 "_bad_part", "_io_error", "_fsync_path", "_rmtree_empty"):
        assert getattr(store, name) is getattr(files, name), name
    for name in ("OCCURRENCE", "_K1", "_K2", "add_keys", "_add_keys", "hash_rows",
                 "identity_keys", "identity_hashers", "_column_hasher", "_hash_folds",
                 "_hash_text", "_hash_texts", "_col_array", "_text_values", "_occurrences",
                 "_cumcount", "_distinct"):
        assert getattr(store, name) is getattr(keys, name), name
    for name in ("Transaction", "AppendStats", "conform", "_partitions", "_rows", "_isin",
                 "_drop_duplicates", "_dictionary_columns", "_statistics_columns"):
        assert getattr(store, name) is getattr(write, name), name
    # the one set of versioned kinds, whichever module a caller reads it from
    assert keys.VERSIONED is write.VERSIONED is files.VERSIONED


def test_modules_are_split_by_idea():
    assert store.Store.__module__ == "cskit.store"
    assert store.table_to_frame.__module__ == "cskit.store"
    assert store.Manifest.__module__ == "cskit.store_files"
    assert store.hash_rows.__module__ == "cskit.store_keys"
    assert store.Transaction.__module__ == "cskit.store_write"
    for mod in (store, files, keys, write):
        assert_one_idea(mod, max_lines=500, min_doc=300)
        assert "Not here" in mod.__doc__ or mod is store


def test_knobs_live_in_one_module_each():
    # patched by tests at their home; cskit.store does not re-export them, so a patch of
    # the old name fails instead of silently changing nothing
    for name in ("_SAMPLE", "_FEW", "_HASH_BLOCK", "_PARALLEL_HASH"):
        assert hasattr(keys, name) and not hasattr(store, name), name
        assert not hasattr(write, name) and not hasattr(pipeline, name), name
    assert hasattr(files, "_WRITERS")
    for mod in (store, keys, write, pipeline):
        assert not hasattr(mod, "_WRITERS"), mod.__name__


def test_the_lower_modules_do_not_import_the_store():
    # no cycle: files <- keys <- write <- store (write loads the pipeline when it is used),
    # so each can be imported first
    code = ("import sys, cskit.store_write; "
            "print(sorted(m for m in sys.modules if m.startswith('cskit.store')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(store.__file__).parent.parent).stdout
    assert out.strip() == "['cskit.store_files', 'cskit.store_keys', 'cskit.store_write']"


def test_reading_the_store_loads_no_ingest_code():
    # the split keeps the lazy imports: `cskit kpi` imports cskit.store without the ingest
    # readers or the order versions (they are imported where the write path uses them)
    code = ("import sys, cskit.store; "
            "print(sorted(m for m in sys.modules if m.startswith('cskit')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(store.__file__).parent.parent).stdout
    assert out.strip() == ("['cskit', 'cskit.errors', 'cskit.schema', 'cskit.store', "
                           "'cskit.store_files', 'cskit.store_keys', 'cskit.store_write']")
