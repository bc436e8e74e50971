"""The face model: LiteRT calls on each aligned face; probability of a woman's face, beauty
score and, where the model has one, estimated age.

Its metadata file (models/xinh-face.json) says how to feed it (crop size, margin,
normalisation, whether and when to average each face with its mirror image) and holds the
operating thresholds, so none of them live in code. It may name a second, small gender network
(the peer): fed the same tensor, its probability of a woman's face joins the main network's by
the mean of their logits, each clipped where the metadata says so that neither network alone
outvotes a doubtful other, which ranks women above men better than either alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xinh.inference.types import Attributes

METADATA_FILE = "xinh-face.json"


@dataclass(frozen=True, slots=True)
class MirrorWhen:
    """Where the main network also reads the mirror image, judged on the crop alone: the
    joined probability of a woman's face in `female_between`, or the estimated age (years) in
    `age_between`. Elsewhere a second look cannot change the verdict, so it is not paid for."""

    female_between: tuple[float, float]
    age_between: tuple[float, float]

    def wanted(self, joined: np.ndarray | float, age: np.ndarray | float | None) -> np.ndarray:
        """Which faces get the second look (an age of None: gender alone decides)."""
        again = reads_mirror(joined, self.female_between)
        return again if age is None else again | reads_mirror(age, self.age_between)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What the metadata file says: the model file, its input, and the thresholds."""

    path: Path
    version: str
    input_size: int
    margin: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    mirror_average: bool
    female_threshold: float
    beautiful_threshold: float
    child_age: float | None = None  # faces estimated younger are children's (None: no age)
    min_face_height: float = 0.0  # faces shorter (pixels of the photo) are too small to judge
    peer_path: Path | None = None  # a second gender network joined by the mean of logits
    # With `mirror_average`, the main network reads the mirror image only where this says a
    # second look may change the answer (None: every face).
    mirror_when: MirrorWhen | None = None
    # The peer also reads the mirror image when the crop alone gives a joined probability in
    # this range ((0, 1): always, None: never); only when `mirror_average` is on.
    peer_mirror_between: tuple[float, float] | None = (0.0, 1.0)
    # Each network's logit is clipped to +-this before the answer's join (None: not clipped).
    logit_clip: float | None = None

    @classmethod
    def load(cls, models_dir: Path) -> ModelSpec:
        """Read models_dir/xinh-face.json; the model file sits beside it."""
        meta = json.loads((models_dir / METADATA_FILE).read_text())
        return cls(
            path=models_dir / meta["model_file"],
            version=meta["version"],
            input_size=int(meta["input"]["size"]),
            margin=float(meta["input"]["margin"]),
            mean=tuple(meta["input"]["mean"]),
            std=tuple(meta["input"]["std"]),
            mirror_average=bool(meta["input"].get("mirror_average", False)),
            female_threshold=float(meta["thresholds"]["female"]),
            beautiful_threshold=float(meta["thresholds"]["beautiful"]),
            child_age=meta["thresholds"].get("child_age"),
            min_face_height=float(meta.get("small_faces", {}).get("min_face_height", 0.0)),
            peer_path=models_dir / meta["peer"]["model_file"] if "peer" in meta else None,
            peer_mirror_between=_mirror_between(meta.get("peer", {})),
            logit_clip=_logit_clip(meta.get("peer", {})),
            mirror_when=_mirror_when(meta["input"].get("mirror_when")),
        )


def _mirror_when(entry: dict | None) -> MirrorWhen | None:
    """The input entry's `mirror_when` ranges, if it has them."""
    if entry is None:
        return None
    female, age = entry["female_between"], entry["age_between"]
    return MirrorWhen((float(female[0]), float(female[1])), (float(age[0]), float(age[1])))


def _logit_clip(peer: dict) -> float | None:
    """The peer entry's `logit_clip`, if it has one."""
    clip = peer.get("logit_clip")
    return None if clip is None else float(clip)


def _mirror_between(peer: dict) -> tuple[float, float] | None:
    """The peer entry's `mirror_between` range, else always (`mirror_average` true or absent)
    or never (false)."""
    if "mirror_between" in peer:
        low, high = peer["mirror_between"]
        return float(low), float(high)
    return (0.0, 1.0) if peer.get("mirror_average", True) else None


def reads_mirror(joined: np.ndarray | float, between: tuple[float, float] | None) -> np.ndarray:
    """Where the peer also reads the mirror image, given the joined probability from the crop
    alone: inside `between` (the answers a second look may change), nowhere for None."""
    if between is None:
        return np.zeros(np.shape(joined), dtype=bool)
    return (np.asarray(joined) >= between[0]) & (np.asarray(joined) <= between[1])


def joined_probability(
    probabilities: Sequence[float | np.ndarray], clip: float | None = None
) -> float | np.ndarray:
    """Several networks' probabilities (of one face, or each an array over the same faces)
    joined by the mean of their logits, each first clipped to +-`clip` (None: not clipped) so
    that one confident network cannot outvote the others however sure it is."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    logits = np.log(p / (1 - p))
    if clip is not None:
        logits = np.clip(logits, -clip, clip)
    return 1 / (1 + np.exp(-np.mean(logits, axis=0)))


class _Network:
    """One LiteRT graph that reads one crop at a time, its outputs by name."""

    def __init__(self, path: Path, size: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._interpreter.resize_tensor_input(self._input, [1, size, size, 3])
        self._interpreter.allocate_tensors()
        outputs = self._interpreter.get_signature_runner().get_output_details()
        self.outputs = {name: detail["index"] for name, detail in outputs.items()}

    def run(self, tensor: np.ndarray) -> dict[str, float]:
        """The outputs for one normalised crop."""
        self._interpreter.set_tensor(self._input, tensor[None])
        self._interpreter.invoke()
        return {k: self._interpreter.get_tensor(i).item() for k, i in self.outputs.items()}


class FaceModel:
    """Runs the exported model on aligned crops. Not thread-safe: use one per thread."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._network = _Network(spec.path, spec.input_size)
        self._peer = _Network(spec.peer_path, spec.input_size) if spec.peer_path else None
        self._mean = np.array(spec.mean, dtype=np.float32) * 255
        self._inv_std = 1 / (np.array(spec.std, dtype=np.float32) * 255)

    @classmethod
    def create(cls, models_dir: Path) -> FaceModel:
        """Load the model that models_dir's metadata file names."""
        return cls(ModelSpec.load(models_dir))

    def predict(self, crop: np.ndarray) -> Attributes:
        """Attributes of one aligned `input_size` square uint8 RGB crop.

        With `mirror_average`, a network that reads the mirror image too answers the mean of
        its two outputs: steadier than either alone. Both networks read the crop first; the main
        one reads the mirror image where `mirror_when` says a second look may change the
        verdict (every face without it), then the peer where the joined probability so far
        lies in `peer.mirror_between`: the time goes to the uncertain faces. Those choices read
        the plain join; only the answer's join is clipped (`logit_clip`).
        """
        tensor = (crop.astype(np.float32) - self._mean) * self._inv_std
        answer = self._network.run(tensor)
        theirs = self._peer.run(tensor)["female"] if self._peer is not None else None
        mirrored = tensor[:, ::-1].copy() if self.spec.mirror_average else None
        if mirrored is not None and self._looks_again(answer, theirs):
            again = self._network.run(mirrored)
            answer = {key: (value + again[key]) / 2 for key, value in answer.items()}
        female = answer["female"]
        if theirs is not None:
            joined = joined_probability([female, theirs])
            if mirrored is not None and reads_mirror(joined, self.spec.peer_mirror_between):
                theirs = (theirs + self._peer.run(mirrored)["female"]) / 2
            female = float(joined_probability([female, theirs], self.spec.logit_clip))
        age = _years(answer)
        beauty = min(10.0, max(1.0, answer["beauty"]))
        return Attributes(female_probability=female, beauty=beauty, age=age)

    def _looks_again(self, answer: dict[str, float], theirs: float | None) -> bool:
        """Whether the main network reads the mirror image, given both crop-alone answers."""
        when = self.spec.mirror_when
        if when is None:
            return True
        female = answer["female"]
        if theirs is not None:
            female = joined_probability([female, theirs])
        return bool(when.wanted(female, _years(answer)))


def _years(answer: dict[str, float]) -> float | None:
    """The estimated age in years, if the network estimates one."""
    return max(0.0, float(np.expm1(answer["log_age"]))) if "log_age" in answer else None
