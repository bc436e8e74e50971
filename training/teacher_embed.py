"""Face-recognition embeddings of cached aligned crops, for the beauty teacher.

Executed by the interpreter of the peer environment (training/peer_env.py), which has dlib and
`face_recognition_models` (Davis King's CC0 ResNet, 128 numbers a face). dlib's five-point
landmarks re-align each crop into the 150 px chip that network was trained on.

    python teacher_embed.py CROPS.npz MARGIN OUT.npz PART PARTS   # every PARTS-th face from PART
"""

import sys

import dlib
import face_recognition_models as files
import numpy as np

CHIP_SIZE, CHIP_PADDING, BATCH = 150, 0.25, 64


def main() -> None:
    crops_path, margin, out_path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    part, parts = int(sys.argv[4]), int(sys.argv[5])
    network = dlib.face_recognition_model_v1(files.face_recognition_model_location())
    landmarks = dlib.shape_predictor(files.pose_predictor_five_point_model_location())
    with np.load(crops_path) as stored:
        crops, found = stored["crops"], stored["found"]
    size = crops.shape[1]
    inset = round(size * margin / (1 + 2 * margin))  # the face box inside the crop
    face_box = dlib.rectangle(inset, inset, size - inset, size - inset)
    rows = np.flatnonzero(found)[part::parts]
    embeddings = np.zeros((len(rows), 128), np.float32)
    for start in range(0, len(rows), BATCH):
        chips = [
            dlib.get_face_chip(crops[i], landmarks(crops[i], face_box), CHIP_SIZE, CHIP_PADDING)
            for i in rows[start : start + BATCH]
        ]
        embeddings[start : start + BATCH] = np.array(
            [np.array(v) for v in network.compute_face_descriptor(chips)], np.float32
        )
        print(f"{min(start + BATCH, len(rows))}/{len(rows)}", file=sys.stderr, flush=True)
    np.savez(out_path, rows=rows, embeddings=embeddings)


if __name__ == "__main__":
    main()
