"""The shared engine: photo bytes to an `Analysis`, in a bounded pool of worker threads.

    engine = Engine.create()
    analysis = await engine.analyze(photo_bytes)   # from any asyncio front end
    analysis = engine.analyze_now(photo_bytes)     # synchronously, in the calling thread

LiteRT interpreters are not thread-safe, so each thread gets its own detector and face
model, built on first use (and up front for the pool's workers by `warm_up`). A full pool
answers `busy` at once instead of queueing without bound; a slow photo answers `timeout`.
Each photo carries a `Deadline` that its worker checks between steps, so a worker stops
itself; its slot in the pool is freed only when the worker really is free.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from xinh.inference.align import align
from xinh.inference.budget import Deadline, OutOfTime
from xinh.inference.decode import decode
from xinh.inference.detector import DetectorOptions, FaceDetector
from xinh.inference.face_model import METADATA_FILE, FaceModel, ModelSpec
from xinh.inference.model_files import ModelFilesMissing, detector_files, models_dir
from xinh.inference.order import reading_order
from xinh.inference.types import Analysis, Decoded, Face, Limits, Outcome
from xinh.inference.verdict import photo_outcome, rate_face


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Pool size, queue bound, per-photo time limit, decoding limits, detector settings."""

    workers: int = 2
    queue_limit: int = 32
    timeout_s: float = 20.0
    close_timeout_s: float = 1.0  # how long `close` waits for photos in flight
    limits: Limits = field(default_factory=Limits)
    detector: DetectorOptions = field(default_factory=DetectorOptions)


class _Pipeline:
    """One thread's own detector and face model."""

    def __init__(self, detector_paths: tuple[Path, Path], spec: ModelSpec, options: EngineOptions):
        self.detector = FaceDetector.create(*detector_paths, options.detector)
        self.model = FaceModel(spec)


class Engine:
    """Decode, detect, align, run the models and reach a verdict; shared by every front end."""

    def __init__(self, spec: ModelSpec, detector_paths: tuple[Path, Path], options: EngineOptions):
        self.spec = spec
        self.options = options
        self._detector_paths = detector_paths
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(options.workers, thread_name_prefix="xinh-engine")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running: set[concurrent.futures.Future] = set()

    @classmethod
    def create(cls, models: Path | None = None, options: EngineOptions | None = None) -> Engine:
        """Check the model files and start the pool (models load per thread, on first use).

        Raises ModelFilesMissing, whose message names the fix, when a file is not there.
        """
        folder = models or models_dir()
        try:
            spec = ModelSpec.load(folder)
        except FileNotFoundError:
            raise ModelFilesMissing(
                f"no {METADATA_FILE} in {folder}: set XINH_MODELS_DIR to the folder holding it"
            ) from None
        for path in (spec.path, spec.peer_path):
            if path is not None and not path.exists():
                raise ModelFilesMissing(f"model file {path} is missing beside {METADATA_FILE}")
        return cls(spec, detector_files(), options or EngineOptions())

    @property
    def queue_depth(self) -> int:
        """Photos accepted by `analyze` whose worker is not yet free."""
        with self._lock:
            return len(self._running)

    def _pipeline(self) -> _Pipeline:
        pipeline = getattr(self._local, "pipeline", None)
        if pipeline is None:
            pipeline = _Pipeline(self._detector_paths, self.spec, self.options)
            self._local.pipeline = pipeline
        return pipeline

    def decode(self, data: bytes) -> Decoded:
        """Decode photo bytes under the engine's limits."""
        return decode(data, self.options.limits)

    def find_faces(
        self, data: bytes, deadline: Deadline | None = None
    ) -> tuple[Decoded, list[Face]]:
        """Decode and detect in the calling thread: the photo and every face, largest first."""
        decoded = self.decode(data)
        if not decoded.ok:
            return decoded, []
        return decoded, self._pipeline().detector.detect(decoded.pixels, deadline)

    def analyze_now(self, data: bytes, deadline: Deadline | None = None) -> Analysis:
        """The whole pipeline in the calling thread: the largest `max_faces` faces are rated and
        given in reading order; `timeout` once `deadline` passes between two steps."""
        try:
            return self._analyze(data, deadline)
        except OutOfTime:
            return Analysis(Outcome.TIMEOUT)

    def _analyze(self, data: bytes, deadline: Deadline | None) -> Analysis:
        decoded, faces = self.find_faces(data, deadline)
        if not decoded.ok:
            return Analysis(decoded.outcome)
        chosen = faces[: self.options.detector.max_faces]
        model = self._pipeline().model
        rated = []
        for face in reading_order(chosen):
            if deadline is not None:
                deadline.check()
            crop = align(decoded.pixels, face, self.spec.input_size, self.spec.margin)
            rated.append(
                rate_face(
                    face,
                    model.predict(crop),
                    self.spec.female_threshold,
                    self.spec.beautiful_threshold,
                    self.spec.child_age,
                    self.spec.min_face_height,
                )
            )
        return Analysis(
            photo_outcome(tuple(rated)),
            tuple(rated),
            unrated_faces=len(faces) - len(chosen),
            pixels=decoded.pixels,
        )

    async def analyze(self, data: bytes) -> Analysis:
        """The whole pipeline in the pool: `busy` when the pool is full, `timeout` when slow.

        A timed-out photo's worker stops at its next check; its slot stays taken until then."""
        if self._stop.is_set():
            return Analysis(Outcome.BUSY)
        with self._lock:
            if len(self._running) >= self.options.workers + self.options.queue_limit:
                return Analysis(Outcome.BUSY)
            deadline = Deadline.after(self.options.timeout_s, self._stop)
            future = self._pool.submit(self.analyze_now, data, deadline)
            self._running.add(future)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.options.timeout_s)
        except TimeoutError:
            return Analysis(Outcome.TIMEOUT)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if future.cancelled() and not (task and task.cancelling()):
                return Analysis(Outcome.BUSY)  # dropped from the queue by `close`
            raise

    def _release(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._running.discard(future)

    def warm_up(self) -> None:
        """Build every worker's pipeline now, so the first photo is not slowed by loading."""
        barrier = threading.Barrier(self.options.workers)

        def build() -> None:
            self._pipeline()
            barrier.wait(timeout=30)

        for future in [self._pool.submit(build) for _ in range(self.options.workers)]:
            future.result()

    def close(self) -> None:
        """Stop the workers: photos in flight stop at their next check, queued ones are
        dropped, and this returns within `close_timeout_s` whatever is in flight."""
        self._stop.set()
        with self._lock:
            running = set(self._running)
        self._pool.shutdown(wait=False, cancel_futures=True)
        concurrent.futures.wait(running, timeout=self.options.close_timeout_s)
