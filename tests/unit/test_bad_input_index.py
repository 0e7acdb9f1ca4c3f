"""The index store under damage: damaged builds are refused by name and never reused, unwritable
places are refused before any embedding, and checkpoint parts are used only when they verify.

No model: these test the storage layer, so the vectors are fixed arrays of the right shape (what the
model returns is tested in tests/integration/test_bad_input.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.chunking import chunk_document
from rag.index.build import BuildPlan
from rag.index.store import (
    CURRENT,
    IndexUnavailableError,
    IndexWriteError,
    check_writable,
    checkpoint_folder,
    clear_checkpoint,
    live_build,
    load_index,
    read_checkpoint,
    text_key,
    write_build,
    write_checkpoint_part,
)
from rag.ingest.load import load_document
from rag.zh import tokenize

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "004_87d7a1d99ea65eae.txt"
DIM = 8


def _vectors(n: int) -> np.ndarray:
    rows = np.random.default_rng(0).normal(size=(n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture()
def index_dir(tmp_path) -> Path:
    """One small, valid build of a real seed document."""
    doc = load_document(SEED)
    chunks = chunk_document(doc)[:30]
    target = tmp_path / "index"
    target.mkdir()
    write_build(target, documents=[doc], chunks=chunks, vectors=_vectors(len(chunks)),
                tokens=[tokenize(c.indexed_text) for c in chunks], facts=[],
                manifest={"model": "m", "dimension": DIM, "pipeline": "p"})
    load_index(target)
    return target


def _manifest_path(index_dir: Path) -> Path:
    return live_build(index_dir) / "manifest.json"


def _edit_manifest(index_dir: Path, change) -> None:
    path = _manifest_path(index_dir)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(change(manifest)), encoding="utf-8")


def _damage_vectors(index_dir: Path) -> None:
    path = live_build(index_dir) / "vectors.npy"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x40  # one bit of one float of the last row
    path.write_bytes(bytes(data))


DAMAGE = {
    "current-not-utf8": (lambda d: (d / CURRENT).write_bytes(b"\xff\xfebuild\n"), "No index found"),
    "current-dangling": (lambda d: (d / CURRENT).write_text("build-gone\n"), "No index found"),
    "current-escapes": (lambda d: (d / CURRENT).write_text("../../etc\n"), "No index found"),
    "current-empty": (lambda d: (d / CURRENT).write_text(""), "No index found"),
    "manifest-list": (lambda d: _manifest_path(d).write_text("[1, 2]"), r"damaged \(a JSON list, not an object\)"),
    "manifest-not-utf8": (lambda d: _manifest_path(d).write_bytes(b'{"a": "\xff"}'), "unreadable"),
    "manifest-not-json": (lambda d: _manifest_path(d).write_text("{"), "unreadable"),
    "manifest-missing": (lambda d: _manifest_path(d).unlink(), "unreadable"),
    "manifest-no-checksums": (lambda d: _edit_manifest(d, lambda m: {k: v for k, v in m.items() if k != "checksums"}),
                              "missing or malformed: checksums"),
    "manifest-empty-checksums": (lambda d: _edit_manifest(d, lambda m: {**m, "checksums": {}}), "checksum mismatch"),
    "manifest-documents-list": (lambda d: _edit_manifest(d, lambda m: {**m, "documents": []}),
                                "missing or malformed: documents"),
    "vectors-flipped-bit": (_damage_vectors, "vectors.npy is missing or corrupt"),
    "vectors-missing": (lambda d: (live_build(d) / "vectors.npy").unlink(), "vectors.npy is missing or corrupt"),
    "chunks-missing": (lambda d: (live_build(d) / "chunks.jsonl").unlink(), "chunks.jsonl is missing or corrupt"),
    "documents-edited": (lambda d: (live_build(d) / "documents.jsonl").write_text(
        (live_build(d) / "documents.jsonl").read_text(encoding="utf-8").replace("2019", "2018", 1), encoding="utf-8"),
        "documents.jsonl is missing or corrupt"),
    "build-folder-gone": (lambda d: shutil.rmtree(live_build(d)), "No index found"),
    "manifest-document-entry-list": (lambda d: _edit_manifest(d, lambda m: {**m, "documents": {"x": [1]}}),
                                     "missing or malformed: documents"),
    "manifest-no-built-at": (lambda d: _edit_manifest(d, lambda m: {**m, "built_at": None}),
                             "missing or malformed: built_at"),
    "current-is-a-folder": (lambda d: ((d / CURRENT).unlink(), (d / CURRENT).mkdir()), "No index found"),
    "bm25-matrix-edited": (lambda d: _flip_last_byte(live_build(d) / "bm25" / "data.npy"), "bm25/data.npy is missing or corrupt"),
    "bigram-terms-edited": (lambda d: _flip_last_byte(live_build(d) / "bigram" / "terms.npy"),
                            "bigram/terms.npy is missing or corrupt"),
    "row-offsets-edited": (lambda d: _flip_last_byte(live_build(d) / "rows" / "offsets.npy"),
                           "rows/offsets.npy is missing or corrupt"),
}


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_index_is_refused_by_name_and_never_reused(index_dir, damage):
    make, message = DAMAGE[damage]
    make(index_dir)
    with pytest.raises(IndexUnavailableError, match=message) as caught:
        load_index(index_dir)
    assert "rag index build" in str(caught.value)
    plan = BuildPlan.from_previous(index_dir, model="m", dimension=DIM)
    assert not plan.vectors and not plan.chunks and not plan.documents
    assert plan.note.startswith("the previous index was not reused, building fresh: ")
    assert "rag index build" not in plan.note  # the build is already what the hint advises


def test_tampering_that_keeps_size_and_mtime_is_never_reused(index_dir):
    """A load trusts files whose size and mtime are those they verified with (hashing gigabytes at
    every start is what it saves); a build that would reuse their rows hashes them anyway."""
    import os

    path = live_build(index_dir) / "vectors.npy"
    before = path.stat()
    _damage_vectors(index_dir)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load_index(index_dir).manifest["n_chunks"] == 30  # the stamp vouches for the file, as documented
    with pytest.raises(IndexUnavailableError, match="vectors.npy is missing or corrupt"):
        load_index(index_dir, trust_stamp=False)
    plan = BuildPlan.from_previous(index_dir, model="m", dimension=DIM)
    assert not plan.vectors and plan.note.startswith("the previous index was not reused")


def test_loaded_chunks_are_read_by_row_and_equal_the_written_ones(index_dir):
    from rag.index.store import ChunkTable, row_documents

    written = chunk_document(load_document(SEED))[:30]
    index = load_index(index_dir)
    assert isinstance(index.chunks, ChunkTable) and len(index.chunks) == 30
    assert list(index.chunks) == written
    assert index.chunks[-1] == written[-1] and index.chunks[3:6] == written[3:6]
    assert [index.position(c.chunk_id) for c in written] == list(range(30))
    codes, doc_ids = row_documents(index.chunks)
    assert doc_ids == [written[0].doc_id] and not codes.any()
    assert len(index.tokens) == 30 and list(index.tokens[0]) == tokenize(written[0].indexed_text)
    assert index.lexical["bm25"].n_docs == 30 and index.lexical["bigram"].n_docs == 30


def test_verified_index_is_reused(index_dir):
    plan = BuildPlan.from_previous(index_dir, model="m", dimension=DIM)
    assert len(plan.vectors) == 30 and not plan.note


def test_a_new_build_replaces_a_damaged_one(index_dir):
    (index_dir / CURRENT).write_bytes(b"\xff\xfe")
    doc = load_document(SEED)
    chunks = chunk_document(doc)[:5]
    write_build(index_dir, documents=[doc], chunks=chunks, vectors=_vectors(5),
                tokens=[tokenize(c.indexed_text) for c in chunks], facts=[], manifest={"model": "m", "dimension": DIM})
    assert load_index(index_dir).manifest["n_chunks"] == 5


# --- writability and space ------------------------------------------------------------------------
def test_index_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "index"
    target.write_text("not a folder")
    with pytest.raises(IndexWriteError, match=r"index is a file, not a folder.*Choose another folder"):
        check_writable(target)


def test_index_path_below_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(IndexWriteError, match=r"file is a file, not a folder"):
        check_writable(tmp_path / "file" / "index")


@pytest.mark.parametrize("target", ["/sys/kernel", "/sys/kernel/rag-index", "/proc/self/rag-index"])
def test_read_only_places_are_refused(target):
    """/sys and /proc refuse new files even to root, as a read-only mount would."""
    with pytest.raises(IndexWriteError, match=r"Cannot write the index to .*read-only or not yours"):
        check_writable(Path(target))


def test_current_pointer_that_is_a_folder_is_refused_with_advice(index_dir):
    shutil.rmtree(live_build(index_dir))
    (index_dir / CURRENT).unlink()
    (index_dir / CURRENT).mkdir()
    with pytest.raises(IndexWriteError, match=r"CURRENT should be a small file .* but it is a folder; move it away"):
        check_writable(index_dir)


def test_full_disk_is_refused_before_embedding(tmp_path, monkeypatch):
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(IndexWriteError, match=r"Not enough disk space for the index .* MB needed, .* MB free"):
        check_writable(tmp_path / "index", needed_bytes=free)  # with the margin, more than is free
    check_writable(tmp_path / "index", needed_bytes=1000)
    assert not list((tmp_path / "index").iterdir())  # the probe file is gone


def test_write_failure_keeps_the_previous_build_and_says_so(index_dir, monkeypatch):
    before = live_build(index_dir)

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    doc = load_document(SEED)
    chunks = chunk_document(doc)[:5]
    with pytest.raises(IndexWriteError, match=r"No space left on device.*previous index is unchanged"):
        write_build(index_dir, documents=[doc], chunks=chunks, vectors=_vectors(5),
                    tokens=[tokenize(c.indexed_text) for c in chunks], facts=[], manifest={"model": "m", "dimension": DIM})
    assert live_build(index_dir) == before
    assert not list(index_dir.glob(".staging-*"))
    load_index(index_dir)


# --- checkpoints of resumable embedding --------------------------------------------------------------
def test_checkpoint_parts_round_trip(tmp_path):
    folder = checkpoint_folder(tmp_path, "m", DIM)
    keys = [text_key(f"passage {i}") for i in range(10)]
    vectors = _vectors(10)
    assert write_checkpoint_part(folder, keys[:6], vectors[:6])
    assert write_checkpoint_part(folder, keys[6:], vectors[6:])
    restored = read_checkpoint(folder, DIM)
    assert sorted(restored) == sorted(keys)
    assert all(np.array_equal(restored[k], vectors[i]) for i, k in enumerate(keys))
    clear_checkpoint(folder)
    assert not (tmp_path / ".embed-checkpoint").exists()


def test_checkpoint_folder_depends_on_model_and_dimension(tmp_path):
    assert checkpoint_folder(tmp_path, "m", DIM) != checkpoint_folder(tmp_path, "other", DIM)
    assert checkpoint_folder(tmp_path, "m", DIM) != checkpoint_folder(tmp_path, "m", DIM * 2)


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),  # killed while writing (no rename: tmp)
        _flip_last_byte,
        lambda p: p.write_bytes(b""),
        lambda p: p.write_text("not a zip"),
    ],
    ids=["truncated", "flipped-byte", "empty", "not-npz"],
)
def test_damaged_checkpoint_part_is_ignored_and_good_parts_kept(tmp_path, damage):
    folder = checkpoint_folder(tmp_path, "m", DIM)
    keys = [text_key(f"passage {i}") for i in range(8)]
    vectors = _vectors(8)
    write_checkpoint_part(folder, keys[:4], vectors[:4])
    damaged_part = sorted(folder.glob("part-*.npz"))[0]
    write_checkpoint_part(folder, keys[4:], vectors[4:])
    damage(damaged_part)
    restored = read_checkpoint(folder, DIM)
    assert sorted(restored) == sorted(keys[4:])


def test_checkpoint_of_another_dimension_is_ignored(tmp_path):
    folder = checkpoint_folder(tmp_path, "m", DIM)
    write_checkpoint_part(folder, [text_key("a")], _vectors(1))
    assert read_checkpoint(folder, DIM * 2) == {}


def test_checkpoint_that_cannot_be_written_is_skipped_not_fatal():
    assert write_checkpoint_part(Path("/sys/kernel/rag-checkpoint"), [text_key("a")], _vectors(1)) is False


def test_build_plan_reads_a_checkpoint_even_without_a_previous_build(tmp_path):
    keys = [text_key(f"passage {i}") for i in range(3)]
    write_checkpoint_part(checkpoint_folder(tmp_path, "m", DIM), keys, _vectors(3))
    plan = BuildPlan.from_previous(tmp_path, model="m", dimension=DIM)
    assert set(plan.vectors) == set(keys) == plan.resumable
    assert not BuildPlan.from_previous(tmp_path, model="other", dimension=DIM).vectors
