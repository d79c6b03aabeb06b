"""Regenerate reference.npz: what the ORIGINAL musicnn code computes, for the Keras port's tests.

This script runs outside the project, in a throwaway environment with musicnn's own
TensorFlow 1 code (musicnn cannot be a project dependency: it pins numpy<1.17 and uses
tf.compat.v1.layers, which Keras 3 lacks). CI never runs it; tests/test_musicnn.py reads
its output. Build the environment and run it from the project root:

    python3.11 -m venv /tmp/musicnn-oracle
    /tmp/musicnn-oracle/bin/pip install tensorflow==2.21.0 tf-keras==2.21.0 \
        librosa==0.11.0 soundfile soxr
    /tmp/musicnn-oracle/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 /tmp/musicnn-oracle/bin/python tests/musicnn_reference/oracle.py \
        ../shared/fixtures/fma_mp3

One change to musicnn's code, made here at import: its batch_data casts the mel
spectrogram to float16 before log10(10000 x + 1), which overflows to inf under NumPy 2 and
turns every output into NaN; the patched copy casts to float32 instead.

What is stored (about 0.4 MB):
- ``patches``: two log-mel input patches per clip (the first and the middle one), rounded
  to float16 to keep the file small; the model was run on exactly these (float16 -> float32)
  values, so ``tags`` (sigmoid outputs, 50) and ``penultimate`` (200) are the original
  model's answers to those very inputs: the port must match them within 1e-4.
- ``clip_tags`` / ``clip_penultimate_mean`` / ``clip_penultimate_max``: musicnn's whole
  pipeline on each MP3 (librosa.load at 16 kHz, every 3-s patch without overlap), averaged
  (tags, penultimate) and maxed (penultimate) over the clip: the end-to-end reference.
- ``clip_names``, ``clip_patches`` (patch count per clip), ``labels`` (MSD_LABELS).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "reference.npz"
N_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1


def patched_batch_data():
    """musicnn.extractor.batch_data with its float16 cast replaced by float32."""
    from musicnn import extractor

    source = inspect.getsource(extractor.batch_data)
    if "audio_rep.astype(np.float16)" not in source:
        raise SystemExit("musicnn's batch_data is not the 0.1.0 code this script patches")
    namespace = dict(vars(extractor))
    exec(source.replace("astype(np.float16)", "astype(np.float32)"), namespace)  # noqa: S102
    return namespace["batch_data"]


def main(clips_dir: str) -> None:
    import musicnn
    import tensorflow as tf
    from musicnn import configuration, models

    clips = sorted(Path(clips_dir).glob("*.mp3"))
    if not clips:
        raise SystemExit(f"no .mp3 in {clips_dir}")
    batch_data = patched_batch_data()  # also disables eager execution, as musicnn does

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, configuration.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        logits, *_, penultimate = models.define_model(x, is_training, "MSD_musicnn", 50)
        probabilities = tf.nn.sigmoid(logits)
    session = tf.compat.v1.Session()
    session.run(tf.compat.v1.global_variables_initializer())
    tf.compat.v1.train.Saver().restore(
        session, str(Path(musicnn.__file__).parent / "MSD_musicnn") + "/"
    )

    def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return session.run([probabilities, penultimate], feed_dict={x: batch, is_training: False})

    chosen, tags, pens = [], [], []
    clip_tags, clip_pen_mean, clip_pen_max, counts = [], [], [], []
    for clip in clips:
        batch, _ = batch_data(str(clip), N_FRAMES, N_FRAMES)
        all_tags, all_pen = run(batch.astype(np.float32))
        clip_tags.append(all_tags.mean(axis=0))
        clip_pen_mean.append(all_pen.mean(axis=0))
        clip_pen_max.append(all_pen.max(axis=0))
        counts.append(len(batch))
        picked = batch[[0, len(batch) // 2]].astype(np.float16)
        some_tags, some_pen = run(picked.astype(np.float32))
        chosen.append(picked)
        tags.append(some_tags)
        pens.append(some_pen)
        top = np.argsort(-all_tags.mean(axis=0))[:3]
        print(
            clip.name,
            [(configuration.MSD_LABELS[i], round(float(all_tags.mean(0)[i]), 3)) for i in top],
        )
    np.savez_compressed(
        OUT,
        patches=np.concatenate(chosen),
        tags=np.concatenate(tags).astype(np.float32),
        penultimate=np.concatenate(pens).astype(np.float32),
        clip_names=np.array([clip.name for clip in clips]),
        clip_patches=np.array(counts),
        clip_tags=np.array(clip_tags, dtype=np.float32),
        clip_penultimate_mean=np.array(clip_pen_mean, dtype=np.float32),
        clip_penultimate_max=np.array(clip_pen_max, dtype=np.float32),
        labels=np.array(configuration.MSD_LABELS),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/fma_mp3")
