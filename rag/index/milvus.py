"""The index in Milvus: one collection per index folder, written incrementally from the live local build.

Collection design (one row per chunk, primary key = chunk id):

    chunk_id  VARCHAR (primary key)      doc_id  VARCHAR    region  VARCHAR    kind  VARCHAR
    years     ARRAY<INT64>               dense   FLOAT_VECTOR(dim), IP: FLAT up to EXACT_SEARCH_MAX rows, HNSW above
    bm25      SPARSE_FLOAT_VECTOR, IP    jieba tokens:   BM25-saturated term weights  tf·(k1+1) / (tf + k1·(1−b+b·dl/avgdl))
    bigram    SPARSE_FLOAT_VECTOR, IP    char bigrams:   the same weights over character bigrams

The sparse weights are ours (our tokeniser, our lexicon), not Milvus's BM25 function: a query sends
idf × count per term, so the inner product Milvus computes is exactly rag.index.bm25's score. A term
is a sparse dimension by a 32-bit hash of its text (stable across builds, so unchanged rows never
need rewriting when the vocabulary grows); collisions are counted and reported at every write.

Beside it, `<collection>_meta` holds each document's key (a hash of everything its rows store), in
pages `docs:0`, `docs:1` …, and a `state` row (model, dimension, the local build written, the avgdl the stored
weights were computed with). Milvus requires a vector field in every collection, hence a 2-d
placeholder vector there.

Incremental writes: a document whose key is unchanged is not touched; a changed or new one has its
rows deleted by `doc_id` filter and inserted again; a removed one is deleted. The doc-side weights
depend on the corpus's average length, so they are written with the avgdl recorded in the state and
all rows are re-weighed (upserted) only when the live build's avgdl has moved more than
AVGDL_TOLERANCE from it — see docs/scale-out.md.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.index.ann import EXACT_SEARCH_MAX
from rag.index.store import IndexUnavailableError
from rag.records import Chunk
from rag.zh import char_bigrams

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from rag.index.store import LoadedIndex
    from rag.index.bm25 import SparseBM25

Progress = Callable[[str, float], None]
SPARSE_FIELDS = ("bm25", "bigram")
EMPTY_TOKEN = "∅"  # what rag.index.bm25.cached_bm25 puts in a chunk with no tokens; the same here
# Re-weigh every row when the live corpus's average length moved more than this from the one the stored
# weights used: a 1 % change of avgdl moves a BM25 weight by less than 1 % (see docs/scale-out.md).
AVGDL_TOLERANCE = 0.01
HNSW_PARAMS = {"M": 16, "efConstruction": 200}
_MAX_ID_BYTES = 4096
_MAX_YEARS = 1024
_WRITE_BATCH = 1000
_DELETE_BATCH = 200
_STATE_KEY = "state"
_DOC_PREFIX = "docs:"
_PAGE_BYTES = 60_000  # a page of document keys in one VARCHAR(65535) value


def is_server_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://"))


def collection_name(index_dir: Path) -> str:
    """One collection per index folder: the same folder always maps to the same name (letters, digits, _)."""
    digest = hashlib.sha1(str(Path(index_dir).expanduser().resolve()).encode("utf-8")).hexdigest()
    return f"rag_{digest[:16]}"


# --- sparse weights ------------------------------------------------------------------------------
_TERM_IDS: dict[str, int] = {}


def term_id(term: str) -> int:
    """The sparse dimension of a term: its 64-bit BLAKE2 hash modulo 2**32 − 1 (Milvus's dimensions are below that).

    (BLAKE2 cut to 4 bytes made two pairs of the seeds' 16k bigrams collide; the folded 64-bit digest none there.)
    """
    found = _TERM_IDS.get(term)
    if found is None:
        found = int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little") % (2**32 - 1)
        _TERM_IDS[term] = found
    return found


def doc_weights(tokens: Sequence[str], avgdl: float, k1: float, b: float) -> dict[int, float]:
    """A chunk's BM25-saturated term weights (rag.index.bm25's matrix row), keyed by term id."""
    tokens = tokens or [EMPTY_TOKEN]
    norm = k1 * (1 - b + b * len(tokens) / (avgdl or 1.0))
    weights: dict[int, float] = {}
    for term, tf in Counter(tokens).items():
        key = term_id(term)
        weights[key] = weights.get(key, 0.0) + tf * (k1 + 1) / (tf + norm)  # += : two terms of one hash add up
    return weights


def query_weights(tokens: Sequence[str], scorer: SparseBM25) -> dict[int, float]:
    """idf × count per query term the corpus has, as rag.index.bm25.SparseBM25.get_scores weighs them.

    Milvus takes only positive weights; a non-positive idf arises only in a degenerate corpus of one or
    two chunks (rank-bm25's floor of epsilon × mean idf is then negative), where such terms are dropped.
    """
    weights: dict[int, float] = {}
    for term, n in Counter(t for t in tokens if t in scorer.vocabulary).items():
        weight = float(scorer.idf[scorer.vocabulary[term]]) * n
        if weight > 0:
            key = term_id(term)
            weights[key] = weights.get(key, 0.0) + weight
    return weights


def average_length(rows: Sequence[Sequence[str]]) -> float:
    """The avgdl SparseBM25 computes: empty rows count as one token (EMPTY_TOKEN)."""
    return sum(len(r) or 1 for r in rows) / max(1, len(rows))


def hash_collisions(terms: Iterable[str]) -> int:
    """How many distinct terms share a dimension with another (0 of the seeds' 22k, 4 of DRCD's vocabulary)."""
    seen = Counter(term_id(t) for t in set(terms))
    return sum(n for n in seen.values() if n > 1)


# --- filters -------------------------------------------------------------------------------------
def _literal(values: Iterable[object]) -> str:
    # JSON string escaping is what Milvus's expression parser reads (double quotes, backslash escapes).
    return json.dumps(list(values), ensure_ascii=False)


def filter_expression(regions: Sequence[str] = (), years: Sequence[int] = (), doc_ids: Sequence[str] = ()) -> str:
    """The Milvus boolean expression QueryFilters.allows means: region in …, any year in common, doc in …."""
    parts = []
    if regions:
        parts.append(f"region in {_literal(regions)}")
    if years:
        parts.append(f"ARRAY_CONTAINS_ANY(years, {_literal(int(y) for y in years)})")
    if doc_ids:
        parts.append(f"doc_id in {_literal(doc_ids)}")
    return " and ".join(parts)


# --- records -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BM25Params:
    k1: float
    b: float
    avgdl: dict[str, float]  # per sparse field: the average length the stored weights were computed with


@dataclass
class SyncReport:
    """What `MilvusIndex.sync` did."""

    uri: str
    collection: str
    documents: int = 0
    unchanged_documents: int = 0
    written_documents: list[str] = field(default_factory=list)  # new or changed
    removed_documents: list[str] = field(default_factory=list)
    rows_written: int = 0
    reweighed_rows: int = 0  # unchanged rows upserted because avgdl moved (0 when it did not)
    created: bool = False
    dense_index: str = ""
    hash_collisions: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{len(self.written_documents)} documents written ({self.rows_written} rows)",
                 f"{len(self.removed_documents)} removed", f"{self.unchanged_documents} unchanged"]
        if self.reweighed_rows:
            parts.append(f"{self.reweighed_rows} rows re-weighed (average length moved)")
        if self.hash_collisions:
            parts.append(f"{self.hash_collisions} terms share a sparse dimension")
        made = "created" if self.created else "updated"
        return (f"Milvus collection {self.collection} at {self.uri} {made}: {', '.join(parts)}; "
                f"dense index {self.dense_index}; {self.seconds:.1f}s.")


@dataclass(frozen=True)
class ChunkRow:
    """One chunk as Milvus stores it (what `fetch` returns, less the vectors unless asked)."""

    chunk_id: str
    doc_id: str
    region: str
    years: tuple[int, ...]
    kind: str
    dense: tuple[float, ...] = ()


# --- the collection ------------------------------------------------------------------------------
def connect(uri: str) -> MilvusClient:
    """A client for a milvus-lite file (a path ending in .db, started in-process) or a server (http://…)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise IndexUnavailableError("The milvus backend needs pymilvus and milvus-lite: pip install -e .") from exc
    if not is_server_uri(uri):
        path = Path(uri).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        uri = str(path)
    try:
        return MilvusClient(uri=uri)
    except Exception as exc:  # pymilvus raises its own exception types for an unreachable server or a locked file
        raise IndexUnavailableError(f"Cannot open Milvus at {uri} ({exc}). Check milvus_uri in rag.toml; a milvus-lite "
                                    "file is opened by one process at a time.") from exc


class MilvusIndex:
    """One index's collection (and its meta collection) in one Milvus: write, delete, rank, fetch."""

    def __init__(self, uri: str, name: str, client: MilvusClient | None = None) -> None:
        self.uri = uri
        self.name = name
        self.meta_name = f"{name}_meta"
        self.client = client or connect(uri)
        self._hnsw: bool | None = None  # the dense index type, read once

    @classmethod
    def for_index(cls, uri: str, index_dir: Path) -> MilvusIndex:
        return cls(uri, collection_name(index_dir))

    def exists(self) -> bool:
        return self.client.has_collection(self.name) and self.client.has_collection(self.meta_name)

    def drop(self) -> None:
        for name in (self.name, self.meta_name):
            if self.client.has_collection(name):
                self.client.drop_collection(name)

    # --- schema ----------------------------------------------------------------------------------
    def create(self, dimension: int) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=_MAX_ID_BYTES)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=_MAX_ID_BYTES)
        schema.add_field("region", DataType.VARCHAR, max_length=512)
        schema.add_field("kind", DataType.VARCHAR, max_length=64)
        schema.add_field("years", DataType.ARRAY, element_type=DataType.INT64, max_capacity=_MAX_YEARS)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
        for name in SPARSE_FIELDS:
            schema.add_field(name, DataType.SPARSE_FLOAT_VECTOR)
        params = self.client.prepare_index_params()
        params.add_index(field_name="dense", index_type="FLAT", metric_type="IP")  # re-made by size in `sync`
        for name in SPARSE_FIELDS:
            params.add_index(field_name=name, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        params.add_index(field_name="doc_id", index_type="INVERTED")  # deletes and filters by document
        params.add_index(field_name="region", index_type="INVERTED")
        # Strong consistency: a search right after a write (the build's own check, the tests) sees it.
        self.client.create_collection(self.name, schema=schema, index_params=params, consistency_level="Strong")

        meta = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=_MAX_ID_BYTES + 8)
        meta.add_field("value", DataType.VARCHAR, max_length=65535)
        meta.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        meta_params = self.client.prepare_index_params()
        meta_params.add_index(field_name="placeholder", index_type="FLAT", metric_type="IP")
        self.client.create_collection(self.meta_name, schema=meta, index_params=meta_params, consistency_level="Strong")

    def load(self) -> None:
        for name in (self.name, self.meta_name):
            self.client.load_collection(name)

    def dense_index_type(self) -> str:
        try:
            return str(self.client.describe_index(self.name, "dense").get("index_type", ""))
        except Exception:  # no index on the field
            return ""

    def ensure_dense_index(self, n_rows: int) -> str:
        """FLAT (exact, like the local backend) up to EXACT_SEARCH_MAX rows, HNSW above; re-made when the size crosses."""
        wanted = "FLAT" if n_rows <= EXACT_SEARCH_MAX else "HNSW"
        if self.dense_index_type() != wanted:
            self.client.release_collection(self.name)
            self.client.drop_index(self.name, "dense")
            params = self.client.prepare_index_params()
            params.add_index(field_name="dense", index_type=wanted, metric_type="IP",
                             params=HNSW_PARAMS if wanted == "HNSW" else {})
            self.client.create_index(self.name, params)
            self.client.load_collection(self.name)
        self._hnsw = wanted == "HNSW"
        return wanted

    # --- meta ------------------------------------------------------------------------------------
    def state(self) -> dict:
        rows = self.client.get(self.meta_name, ids=[_STATE_KEY], output_fields=["value"])
        return json.loads(rows[0]["value"]) if rows else {}

    def document_keys(self) -> dict[str, str]:
        """doc_id -> key of what its rows hold ("pending" while a write of it is under way).

        Kept in pages of ~60 kB (`docs:0`, `docs:1` …; page 0 says how many), read by id: no query
        iterator, which milvus-lite only half supports, and a few reads even for 100k documents.
        """
        first = self.client.get(self.meta_name, ids=[f"{_DOC_PREFIX}0"], output_fields=["value"])
        if not first:
            return {}
        page = json.loads(first[0]["value"])
        keys = dict(page["keys"])
        rest = [f"{_DOC_PREFIX}{n}" for n in range(1, int(page["pages"]))]
        for start in range(0, len(rest), 50):
            for row in self.client.get(self.meta_name, ids=rest[start:start + 50], output_fields=["value"]):
                keys.update(json.loads(row["value"])["keys"])
        return keys

    def _write_document_keys(self, keys: dict[str, str]) -> None:
        pages: list[dict[str, str]] = [{}]
        size = 0
        for doc_id, key in sorted(keys.items()):
            entry = len(json.dumps([doc_id, key], ensure_ascii=False).encode("utf-8"))
            if size + entry > _PAGE_BYTES and pages[-1]:
                pages.append({})
                size = 0
            pages[-1][doc_id] = key
            size += entry
        old = self.client.get(self.meta_name, ids=[f"{_DOC_PREFIX}0"], output_fields=["value"])
        old_pages = int(json.loads(old[0]["value"])["pages"]) if old else 0
        self._put_meta([(f"{_DOC_PREFIX}{n}", {"pages": len(pages), "keys": page}) for n, page in enumerate(pages)])
        self._drop_meta([f"{_DOC_PREFIX}{n}" for n in range(len(pages), old_pages)])

    def _put_meta(self, items: Sequence[tuple[str, dict]]) -> None:
        for start in range(0, len(items), _WRITE_BATCH):
            batch = items[start:start + _WRITE_BATCH]
            self.client.upsert(self.meta_name, [{"key": k, "value": json.dumps(v, ensure_ascii=False),
                                                 "placeholder": [1.0, 0.0]} for k, v in batch])

    def _drop_meta(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            self.client.delete(self.meta_name, ids=list(keys[start:start + _DELETE_BATCH]))

    # --- writing ---------------------------------------------------------------------------------
    def add_chunks(self, rows: Sequence[dict], *, upsert: bool = False) -> int:
        """Insert (or upsert) rows made by `chunk_rows`; returns how many."""
        write = self.client.upsert if upsert else self.client.insert
        for start in range(0, len(rows), _WRITE_BATCH):
            write(self.name, list(rows[start:start + _WRITE_BATCH]))
        return len(rows)

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Delete every chunk of these documents (by the doc_id scalar field, whatever their chunk ids were)."""
        for start in range(0, len(doc_ids), _DELETE_BATCH):
            self.client.delete(self.name, filter=f"doc_id in {_literal(doc_ids[start:start + _DELETE_BATCH])}")

    def count(self) -> int:
        rows = self.client.query(self.name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    # --- reading ---------------------------------------------------------------------------------
    def search(self, field_name: str, vector: dict[int, float] | np.ndarray, limit: int, expr: str | None = None,
               ) -> list[tuple[str, float]]:
        """(chunk id, inner product) of the `limit` best rows of one field, best first; `expr` filters inside the search."""
        if field_name == "dense":
            data = [np.asarray(vector, dtype=np.float32).ravel().tolist()]
            if self._hnsw is None:
                self._hnsw = self.dense_index_type() == "HNSW"
            # HNSW needs ef >= limit; 200 keeps recall of the 100 candidates high
            params = {"metric_type": "IP", "params": {"ef": max(limit, 200)} if self._hnsw else {}}
        else:
            data = [vector]
            params = {"metric_type": "IP"}
        results = self.client.search(self.name, data=data, anns_field=field_name, limit=limit, filter=expr or "",
                                     output_fields=["chunk_id"], search_params=params)
        return [(str(hit["chunk_id"]), float(hit["distance"])) for hit in results[0]]

    def fetch(self, chunk_ids: Sequence[str], *, vectors: bool = False) -> list[ChunkRow]:
        fields = ["chunk_id", "doc_id", "region", "years", "kind", *(["dense"] if vectors else [])]
        rows = self.client.get(self.name, ids=list(chunk_ids), output_fields=fields)
        by_id = {row["chunk_id"]: row for row in rows}
        return [ChunkRow(r["chunk_id"], r["doc_id"], r["region"], tuple(int(y) for y in r["years"]), r["kind"],
                         tuple(float(v) for v in r.get("dense", ()))) for c in chunk_ids if (r := by_id.get(c))]

    # --- the incremental write from a local build ------------------------------------------------
    def sync(self, index: LoadedIndex, scorers: dict[str, SparseBM25], progress: Progress | None = None, *,
             avgdl_tolerance: float = AVGDL_TOLERANCE) -> SyncReport:
        """Make the collection hold exactly the live build's chunks, writing only what changed.

        `scorers` are the build's SparseBM25 per sparse field (the retriever's): their k1, b and avgdl
        are the ones the local backend scores with. `avgdl_tolerance` 0 re-weighs on any change of the
        corpus's average length, for scores equal to the local backend's after every write.
        """
        started = time.perf_counter()
        report_progress = progress or (lambda _step, _fraction: None)
        report = SyncReport(self.uri, self.name)
        model, dimension = index.manifest.get("model", ""), int(index.vectors.shape[1])
        state = self.state() if self.exists() else {}
        if self.exists():
            self.load()
        if state and (state.get("model") != model or state.get("dimension") != dimension):
            self.drop()  # every vector changes with the model: nothing in it can be kept
            state = {}
        if not self.exists():
            self.drop()  # half of a pair an interrupted first write left behind
            self.create(dimension)
            self.load()
            report.created = True

        rows_of = _rows_by_document(index)
        tokens = _field_tokens(index)
        keys = {doc_id: _document_key(index, rows, tokens) for doc_id, rows in rows_of.items()}
        _check_unique_ids(index.chunks)
        report.hash_collisions = sum(hash_collisions(t for row in tokens[f] for t in row) for f in SPARSE_FIELDS)

        k1, b = scorers["bm25"].k1, scorers["bm25"].b
        live_avgdl = {f: average_length(tokens[f]) for f in SPARSE_FIELDS}
        stored = state.get("bm25") or {}
        stored_avgdl = stored.get("avgdl") or {}
        reweigh = not state or stored.get("k1") != k1 or stored.get("b") != b or any(
            not stored_avgdl.get(f) or abs(live_avgdl[f] / stored_avgdl[f] - 1) > avgdl_tolerance for f in SPARSE_FIELDS)
        params = BM25Params(k1, b, live_avgdl if reweigh else {f: float(stored_avgdl[f]) for f in SPARSE_FIELDS})

        old_keys = self.document_keys() if not report.created else {}
        write = [d for d in rows_of if old_keys.get(d) != keys[d]]
        removed = [d for d in old_keys if d not in rows_of]
        unchanged = [d for d in rows_of if old_keys.get(d) == keys[d]]
        report.documents, report.unchanged_documents = len(rows_of), len(unchanged)
        report.written_documents, report.removed_documents = write, removed

        # Interrupted writes are redone by the next sync: the state says "mid-write" (no avgdl) until the
        # end, so a re-weighing is redone; documents being written are "pending" (so they are rewritten,
        # or deleted if they left the corpus meanwhile) and removed ones stay listed until they are gone.
        self._put_meta([(_STATE_KEY, {**state, "model": model, "dimension": dimension,
                                      "bm25": {"k1": k1, "b": b, "avgdl": {} if reweigh else params.avgdl}})])
        if write:
            self._write_document_keys({**old_keys, **{d: "pending" for d in write}})
        report_progress("Milvus: deleting changed and removed documents", 0.0)
        if not report.created:  # a "new" document may have rows from an interrupted write: delete by doc_id too
            self.delete_documents([*write, *removed])
        total = sum(len(rows_of[d]) for d in write) + (sum(len(rows_of[d]) for d in unchanged) if reweigh else 0)
        done = 0
        # Rows of many documents go in one request (DRCD's documents are one or two chunks each).
        for docs, upsert in ((write, False), (unchanged if reweigh else [], True)):
            batch: list[dict] = []
            for n, doc_id in enumerate(docs, start=1):
                batch.extend(chunk_rows(index, rows_of[doc_id], tokens, params))
                if len(batch) >= _WRITE_BATCH or n == len(docs):
                    written = self.add_chunks(batch, upsert=upsert)
                    report.rows_written += 0 if upsert else written
                    report.reweighed_rows += written if upsert else 0
                    done += written
                    batch = []
                    report_progress(f"Milvus: writing {done}/{total} rows", done / max(1, total))
        report.dense_index = self.ensure_dense_index(len(index.chunks))
        if write or removed:
            self._write_document_keys(keys)
        self._put_meta([(_STATE_KEY, {"model": model, "dimension": dimension, "build": index.path.name,
                                      "built_at": index.manifest.get("built_at", ""), "n_chunks": len(index.chunks),
                                      "bm25": {"k1": k1, "b": b, "avgdl": params.avgdl}, "dense_index": report.dense_index})])
        self.client.flush(self.name)
        self.client.flush(self.meta_name)
        report.seconds = time.perf_counter() - started
        report_progress("Milvus: done", 1.0)
        return report

    def check_serves(self, index: LoadedIndex) -> dict:
        """The state, when the collection holds the live build `index`; else IndexUnavailableError saying what to run."""
        hint = "Run `rag index build --backend milvus` (add --index DIR as needed) to write it."
        if not self.exists():
            raise IndexUnavailableError(f"No Milvus collection {self.name} for the index in {index.path.parent} at "
                                        f"{self.uri}. {hint}")
        self.load()
        state = self.state()
        if state.get("model") != index.manifest.get("model"):
            raise IndexUnavailableError(f"The Milvus collection {self.name} was written with embedding model "
                                        f"{state.get('model')!r}, the index with {index.manifest.get('model')!r}. {hint}")
        if state.get("build") != index.path.name or state.get("n_chunks") != len(index.chunks):
            raise IndexUnavailableError(f"The Milvus collection {self.name} holds build {state.get('build')!r}, not the "
                                        f"live build {index.path.name!r} of {index.path.parent}. {hint}")
        return state


def _check_unique_ids(chunks: Sequence[Chunk]) -> None:
    seen: set[str] = set()
    for chunk in chunks:
        if chunk.chunk_id in seen:
            raise ValueError(f"Chunk id {chunk.chunk_id!r} occurs twice in the index; Milvus keys rows by chunk id.")
        if len(chunk.chunk_id.encode("utf-8")) > _MAX_ID_BYTES:
            raise ValueError(f"Chunk id {chunk.chunk_id[:80]!r}… is longer than {_MAX_ID_BYTES} bytes, Milvus's limit here.")
        seen.add(chunk.chunk_id)


def _rows_by_document(index: LoadedIndex) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for i, chunk in enumerate(index.chunks):
        rows.setdefault(chunk.doc_id, []).append(i)
    return rows


def _field_tokens(index: LoadedIndex) -> dict[str, Sequence[Sequence[str]]]:
    """Each sparse field's token lists, as the retriever scores them (older builds derive the bigrams)."""
    return {"bm25": index.tokens, "bigram": index.bigrams or [char_bigrams(c.indexed_text) for c in index.chunks]}


def _document_key(index: LoadedIndex, rows: Sequence[int], tokens: dict[str, Sequence[Sequence[str]]]) -> str:
    """A hash of everything a document's rows store but the avgdl-dependent weights: ids, scalars, tokens, vectors."""
    digest = hashlib.sha1()
    for i in rows:
        c = index.chunks[i]
        digest.update(json.dumps([c.chunk_id, c.doc_id, c.region, list(c.years), c.kind,
                                  *("\x1f".join(tokens[f][i]) for f in SPARSE_FIELDS)], ensure_ascii=False).encode())
        digest.update(np.ascontiguousarray(index.vectors[i], dtype=np.float32).tobytes())
    return digest.hexdigest()


def chunk_rows(index: LoadedIndex, rows: Sequence[int], tokens: dict[str, Sequence[Sequence[str]]],
               params: BM25Params) -> list[dict]:
    """Milvus rows for the chunks at positions `rows` of the build."""
    out = []
    for i in rows:
        c = index.chunks[i]
        if len(c.years) > _MAX_YEARS:
            raise ValueError(f"{c.chunk_id}: more than {_MAX_YEARS} years")
        row = {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "region": c.region, "kind": c.kind,
               "years": [int(y) for y in c.years], "dense": np.asarray(index.vectors[i], dtype=np.float32).tolist()}
        for f in SPARSE_FIELDS:
            row[f] = doc_weights(tokens[f][i], params.avgdl[f], params.k1, params.b)
        out.append(row)
    return out


def report_dict(report: SyncReport) -> dict:
    return asdict(report)
