"""Start-up cost: an int8 ONNX export keeps its weights outside the graph, so they are memory-mapped.

A tiny real ONNX model (an embedding table and a MatMul, built with onnx.helper) stands in for the
400 MB e5 export: the format-1 folder is upgraded in place, loads, and computes exactly what it did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from rag.embed.onnx import FORMAT_VERSION, INFO_FILE, ONNX_FILE, WEIGHTS_FILE, export_int8, is_exported


def tiny_format_1_export(folder: Path) -> np.ndarray:
    """A folder as `rag model build` wrote it before format 2: the weights inside model_int8.onnx."""
    rng = np.random.default_rng(0)
    table = rng.normal(size=(500, 16)).astype(np.float32)  # 32 KB: well over the 1 KB external threshold
    proj = rng.normal(size=(16, 8)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["emb"]),
         helper.make_node("MatMul", ["emb", "proj"], ["last_hidden_state"])],
        "tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "tokens", 8])],
        initializer=[numpy_helper.from_array(table, "table"), numpy_helper.from_array(proj, "proj")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    folder.mkdir()
    onnx.save_model(model, str(folder / ONNX_FILE))
    (folder / INFO_FILE).write_text(json.dumps({"format": 1, "hidden_size": 8}), encoding="utf-8")
    return _run(folder)


def _run(folder: Path) -> np.ndarray:
    session = ort.InferenceSession(str(folder / ONNX_FILE), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": np.array([[1, 7, 499, 3]], dtype=np.int64)})[0]


def test_format_1_export_is_upgraded_in_place_and_computes_the_same(tmp_path: Path) -> None:
    folder = tmp_path / "e5-int8"
    before = tiny_format_1_export(folder)
    size_before = (folder / ONNX_FILE).stat().st_size
    assert not is_exported(folder)

    # No source model is needed (nor torch): the upgrade only rewrites the existing export.
    assert export_int8(tmp_path / "no-such-model", folder) == folder
    assert is_exported(folder)
    assert json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))["format"] == FORMAT_VERSION
    assert (folder / ONNX_FILE).stat().st_size < size_before / 10  # the graph alone
    assert (folder / WEIGHTS_FILE).stat().st_size >= 500 * 16 * 4
    assert np.array_equal(_run(folder), before)
    assert sorted(p.name for p in folder.iterdir()) == sorted([ONNX_FILE, WEIGHTS_FILE, INFO_FILE])  # no temp files

    # Idempotent: a second call leaves the upgraded files as they are.
    stamp = (folder / WEIGHTS_FILE).stat().st_mtime_ns
    export_int8(tmp_path / "no-such-model", folder)
    assert (folder / WEIGHTS_FILE).stat().st_mtime_ns == stamp


def test_inference_queue_serves_callers_in_arrival_order() -> None:
    """The ONNX run lock is a FIFO: a session that just ran cannot jump ahead of ones already waiting."""
    import threading
    import time

    from rag.embed.onnx import FairLock

    lock = FairLock()
    order: list[int] = []
    lock.__enter__()  # held while the waiters line up
    threads = []
    for n in range(6):
        def wait_turn(n: int = n) -> None:
            with lock:
                order.append(n)
        thread = threading.Thread(target=wait_turn)
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # each arrives after the previous one is waiting
    lock.__exit__(None, None, None)
    for thread in threads:
        thread.join(timeout=5)
    assert order == list(range(6))


def test_inference_queue_serves_the_oldest_request_first() -> None:
    """An answer already under way (its second inference) goes before answers begun after it, so an
    answer needing several inferences does not queue behind every other session each time."""
    import threading
    import time

    from rag.embed.onnx import FairLock, request_started

    lock = FairLock()
    order: list[str] = []
    lock.__enter__()
    threads = []
    began = time.monotonic()
    for name, start in (("late-1", began + 2), ("late-2", began + 3), ("early", began)):
        def wait_turn(name: str = name, start: float = start) -> None:
            request_started.set(start)
            with lock:
                order.append(name)
        thread = threading.Thread(target=wait_turn)
        thread.start()
        threads.append(thread)
        time.sleep(0.05)
    lock.__exit__(None, None, None)
    for thread in threads:
        thread.join(timeout=5)
    assert order == ["early", "late-1", "late-2"]
