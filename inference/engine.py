"""The shared engine: photo bytes to an `Analysis`, in a bounded pool of worker threads.

    engine = Engine.create()
    analysis = await engine.analyze(photo_bytes)   # from any asyncio front end
    analysis = engine.analyze_now(photo_bytes)     # synchronously, in the calling thread

LiteRT interpreters are not thread-safe, so each thread gets its own detector and face
model, built on first use (and up front for the pool's workers by `warm_up`). A full pool
answers `busy` at once instead of queueing without bound; a slow photo answers `timeout`.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from inference.align import align
from inference.decode import decode
from inference.detector import DetectorOptions, FaceDetector
from inference.face_model import METADATA_FILE, FaceModel, ModelSpec
from inference.model_files import ModelFilesMissing, detector_files, models_dir
from inference.types import Analysis, Decoded, Face, Limits, Outcome
from inference.verdict import photo_outcome, rate_face


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Pool size, queue bound, per-photo time limit, decoding limits, detector settings."""

    workers: int = 2
    queue_limit: int = 32
    timeout_s: float = 20.0
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
        self._in_flight = 0

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
        if not spec.path.exists():
            raise ModelFilesMissing(f"model file {spec.path} is missing beside {METADATA_FILE}")
        return cls(spec, detector_files(), options or EngineOptions())

    @property
    def queue_depth(self) -> int:
        """Photos accepted by `analyze` and not yet answered."""
        return self._in_flight

    def _pipeline(self) -> _Pipeline:
        pipeline = getattr(self._local, "pipeline", None)
        if pipeline is None:
            pipeline = _Pipeline(self._detector_paths, self.spec, self.options)
            self._local.pipeline = pipeline
        return pipeline

    def decode(self, data: bytes) -> Decoded:
        """Decode photo bytes under the engine's limits."""
        return decode(data, self.options.limits)

    def find_faces(self, data: bytes) -> tuple[Decoded, list[Face]]:
        """Decode and detect in the calling thread: the photo and its faces, largest first."""
        decoded = self.decode(data)
        if not decoded.ok:
            return decoded, []
        return decoded, self._pipeline().detector.detect(decoded.pixels)

    def analyze_now(self, data: bytes) -> Analysis:
        """The whole pipeline in the calling thread."""
        decoded, faces = self.find_faces(data)
        if not decoded.ok:
            return Analysis(decoded.outcome)
        model = self._pipeline().model
        rated = tuple(
            rate_face(
                face,
                model.predict(align(decoded.pixels, face, self.spec.input_size, self.spec.margin)),
                self.spec.female_threshold,
                self.spec.beautiful_threshold,
                self.spec.child_age,
            )
            for face in faces
        )
        return Analysis(photo_outcome(rated), rated, decoded.pixels)

    async def analyze(self, data: bytes) -> Analysis:
        """The whole pipeline in the pool: `busy` when the pool is full, `timeout` when slow."""
        if self._in_flight >= self.options.workers + self.options.queue_limit:
            return Analysis(Outcome.BUSY)
        self._in_flight += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self._pool, self.analyze_now, data)
            return await asyncio.wait_for(future, self.options.timeout_s)
        except TimeoutError:
            return Analysis(Outcome.TIMEOUT)
        finally:
            self._in_flight -= 1

    def warm_up(self) -> None:
        """Build every worker's pipeline now, so the first photo is not slowed by loading."""
        barrier = threading.Barrier(self.options.workers)

        def build() -> None:
            self._pipeline()
            barrier.wait(timeout=30)

        for future in [self._pool.submit(build) for _ in range(self.options.workers)]:
            future.result()

    def close(self) -> None:
        """Finish the photos in flight and stop the worker threads."""
        self._pool.shutdown(wait=True)
