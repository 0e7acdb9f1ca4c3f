"""`rag loadtest`: N simulated chat sessions asking the eval questions for a fixed duration.

Streamlit serves every browser session from a thread of one process that shares the engine
(st.cache_resource), so the load test does the same: one `Engine`, N threads, each asking
questions in its own shuffled order until the time is up, with no pause between questions (a
saturation test: 20 sessions are 20 questions always waiting). It reports throughput, latency
percentiles, errors (zero expected) and the machine's load average, since on a shared machine the
other jobs' load decides the tail as much as the engine does. The engine is warm when it is made
(`Engine._warm_up`), and ONNX Runtime runs one inference at a time (`OnnxEncoder`), so the sessions
share the cores instead of fighting for them.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    sessions: int
    duration_s: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    load_avg_1m: float = 0.0  # the machine's load when the run ended: other jobs' share of the cores

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)
        n = len(lat)
        return {
            "sessions": self.sessions,
            "duration_s": round(self.duration_s, 1),
            "answers": n,
            "throughput_per_s": round(n / self.duration_s, 2) if self.duration_s else 0.0,
            "p50_ms": round(statistics.median(lat), 1) if lat else None,
            "p95_ms": round(lat[min(n - 1, int(0.95 * n))], 1) if lat else None,
            "max_ms": round(lat[-1], 1) if lat else None,
            "errors": len(self.errors),
            "load_avg_1m": round(self.load_avg_1m, 2),
            "cores": len(os.sched_getaffinity(0)),
        }


def run_load(engine, questions: Sequence[str], *, sessions: int, duration_s: float, seed: int = 0) -> LoadResult:
    result = LoadResult(sessions, duration_s)
    lock = threading.Lock()
    deadline = time.perf_counter() + duration_s

    def session(n: int) -> None:
        order = list(questions)
        random.Random(seed + n).shuffle(order)
        i = 0
        while time.perf_counter() < deadline:
            question = order[i % len(order)]
            i += 1
            started = time.perf_counter()
            try:
                engine.ask(question)
            except Exception:  # noqa: BLE001 - a load test counts every failure, whatever it is
                with lock:
                    result.errors.append(traceback.format_exc(limit=3))
                continue
            with lock:
                result.latencies_ms.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=session, args=(n,), daemon=True) for n in range(sessions)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.duration_s = time.perf_counter() - started
    result.load_avg_1m = os.getloadavg()[0]
    return result
