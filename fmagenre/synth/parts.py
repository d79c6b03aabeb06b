"""The parts a genre recipe is made of: the track's mix and context, and musical parts
(drum patterns, bass, chords, arpeggios, melodies, pads) rendered with the instruments.

Each part draws its own choices from the track's random generator, so a recipe is a few
calls and a track is reproducible from its seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fmagenre.synth import instruments as ins


@dataclass(frozen=True)
class ArtistStyle:
    """What an artist's tracks share: tempo centre, key, timbre and mix habits."""

    genre: str
    tempo: float
    root: int  # MIDI note of the tonic
    scale: str
    brightness: float  # 0 dull .. 1 bright
    reverb: float  # wet share
    drive: float  # distortion amount where a recipe distorts
    borrow: float  # chance that a track borrows an element of a neighbour genre
    levels: dict[str, float] = field(default_factory=dict)  # per-part gain offsets


class Mix:
    """A stereo buffer that sounds are placed into at given times, gains and pans."""

    def __init__(self, seconds: float, sr: int):
        self.sr = sr
        self.n = int(seconds * sr)
        self.buffer = np.zeros((self.n, 2), dtype=np.float32)

    def place(self, sound: np.ndarray, at: float, gain: float = 1.0, pan: float = 0.0) -> None:
        start = int(at * self.sr)
        if start >= self.n or start < 0:
            return
        part = sound[: self.n - start] * gain
        left, right = np.sqrt(0.5 * (1 - pan)), np.sqrt(0.5 * (1 + pan))
        self.buffer[start : start + len(part), 0] += left * part
        self.buffer[start : start + len(part), 1] += right * part

    def add(self, sound: np.ndarray, gain: float = 1.0, pan: float = 0.0) -> None:
        self.place(sound, 0.0, gain, pan)


@dataclass
class Context:
    """Everything a part renderer needs about the track being made."""

    style: ArtistStyle
    rng: np.random.Generator
    mix: Mix
    seconds: float
    tempo: float
    root: int
    scale: tuple[int, ...]
    sounds: dict[tuple, np.ndarray] = field(default_factory=dict)

    def sound(self, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
        """A rendered note, made once per track: a recording reuses its instrument's notes too."""
        if key not in self.sounds:
            self.sounds[key] = make()
        return self.sounds[key]

    @property
    def sr(self) -> int:
        return self.mix.sr

    @property
    def beat(self) -> float:
        return 60.0 / self.tempo

    def steps(self, per_beat: int = 4) -> np.ndarray:
        """Onset times of a grid of ``per_beat`` steps per beat over the whole clip."""
        return np.arange(0, self.seconds, self.beat / per_beat)

    def note(self, degree: int, octave: int = 0) -> float:
        """Frequency of a scale degree (may exceed the scale length: wraps to octaves)."""
        octave += degree // len(self.scale)
        return ins.midi_hz(self.root + 12 * octave + self.scale[degree % len(self.scale)])

    def level(self, part: str) -> float:
        return self.style.levels.get(part, 1.0)


def pattern_hits(ctx: Context, pattern: str, per_beat: int = 4, swing: float = 0.0) -> list[float]:
    """Times where a repeating step pattern ('x' hit, '.' rest) sounds."""
    times = []
    for i, t in enumerate(ctx.steps(per_beat)):
        if pattern[i % len(pattern)] == "x":
            times.append(t + (swing * ctx.beat / per_beat if i % 2 else 0.0))
    return times


def drums(
    ctx: Context,
    kick_p: str,
    snare_p: str,
    hat_p: str,
    *,
    swing: float = 0.0,
    clap_p: str = "",
    gain: float = 1.0,
) -> None:
    rng, sr, g = ctx.rng, ctx.sr, gain * ctx.level("drums")
    kick, snare, hat, clap = (
        ins.kick(sr, rng),
        ins.snare(sr, rng, 0.7 + ctx.style.brightness),
        ins.hihat(sr, rng),
        ins.clap(sr, rng),
    )
    for t in pattern_hits(ctx, kick_p, swing=swing):
        ctx.mix.place(kick, t, 0.9 * g)
    for t in pattern_hits(ctx, snare_p, swing=swing):
        ctx.mix.place(snare, t, 0.55 * g, pan=0.05)
    for t in pattern_hits(ctx, hat_p, swing=swing):
        ctx.mix.place(hat, t, rng.uniform(0.2, 0.35) * g, pan=0.3)
    for t in pattern_hits(ctx, clap_p, swing=swing) if clap_p else []:
        ctx.mix.place(clap, t, 0.4 * g, pan=-0.1)


def progression(
    ctx: Context, degrees: tuple[int, ...], beats_per_chord: int = 4
) -> list[tuple[float, int]]:
    """(time, chord root degree) for a chord progression looped over the clip."""
    out, t, i = [], 0.0, 0
    while t < ctx.seconds:
        out.append((t, degrees[i % len(degrees)]))
        t += beats_per_chord * ctx.beat
        i += 1
    return out


def chord(ctx: Context, degree: int, octave: int = 0) -> list[float]:
    return [ctx.note(degree + step, octave) for step in (0, 2, 4)]


# -- parts shared by several recipes ---------------------------------------------------------


def synth_bass(
    ctx: Context, degrees: tuple[int, ...], per_beat: int = 2, gain: float = 1.0
) -> None:
    length = ctx.beat / per_beat * 0.9
    for start, degree in progression(ctx, degrees):
        for k in range(4 * per_beat):
            t = start + k * ctx.beat / per_beat
            freq = ctx.note(degree, -1) * (2 if k % 4 == 3 else 1)

            def make(freq: float = freq) -> np.ndarray:
                tone = ins.lowpass(
                    ins.saw(freq, length, ctx.sr), 300 + 700 * ctx.style.brightness, ctx.sr
                )
                return tone * ins.envelope(len(tone), ctx.sr, 0.005, length)

            ctx.mix.place(
                ctx.sound(("bass", freq, length), make), t, 0.35 * gain * ctx.level("bass")
            )


def arpeggio(ctx: Context, degrees: tuple[int, ...], per_beat: int = 4, gain: float = 1.0) -> None:
    length = ctx.beat / per_beat
    for start, degree in progression(ctx, degrees):
        notes = chord(ctx, degree, 1)
        for k in range(4 * per_beat):
            freq = notes[k % 3] * (2 if k % 6 == 5 else 1)

            def make(freq: float = freq) -> np.ndarray:
                tone = ins.lowpass(
                    ins.square(freq, length, ctx.sr, duty=0.3),
                    1500 + 4000 * ctx.style.brightness,
                    ctx.sr,
                )
                return tone * ins.envelope(len(tone), ctx.sr, 0.003, length / 2)

            ctx.mix.place(
                ctx.sound(("arp", freq, length), make),
                start + k * length,
                0.12 * gain * ctx.level("lead"),
                pan=0.4,
            )


def sung_melody(
    ctx: Context, *, octave: int, per_beat: float, gain: float, rap: bool = False
) -> None:
    rng = ctx.rng
    t = rng.uniform(0, ctx.beat)
    while t < ctx.seconds:
        length = (
            ctx.beat / per_beat * rng.choice([1, 1, 2])
            if not rap
            else ctx.beat / 4 * rng.uniform(0.6, 0.95)
        )
        if rng.random() < (0.65 if rap else 0.8):
            freq = rng.uniform(110, 170) if rap else ctx.note(int(rng.integers(0, 7)), octave)
            ctx.mix.place(
                ins.voice(freq, length, ctx.sr, rng, int(rng.integers(0, 5))),
                t,
                0.5 * gain * ctx.level("lead"),
            )
        t += length if not rap else ctx.beat / 4
        if rng.random() < 0.08:
            t += ctx.beat * 2  # a breath between phrases


def plucked_arpeggio(
    ctx: Context, degrees: tuple[int, ...], per_beat: int = 2, buzz: float = 0.0, gain: float = 1.0
) -> None:
    rng = ctx.rng
    order = (0, 1, 2, 1, 0, 2, 1, 2)
    for start, degree in progression(ctx, degrees):
        notes = chord(ctx, degree, 0)
        for k in range(4 * per_beat):
            freq, length = notes[order[k % 8]] * 2, min(1.5, 3 * ctx.beat / per_beat)
            tone = ctx.sound(
                ("pluck", freq, length, buzz),
                lambda f=freq, n=length: ins.pluck(f, n, ctx.sr, rng, 0.995, buzz),
            )
            ctx.mix.place(
                tone,
                start + k * ctx.beat / per_beat + rng.normal(0, 0.006),
                0.35 * gain * ctx.level("harmony"),
                pan=-0.25,
            )


def piano_chords(
    ctx: Context, degrees: tuple[int, ...], hits_per_chord: int = 1, gain: float = 1.0
) -> None:
    for start, degree in progression(ctx, degrees):
        for k in range(hits_per_chord):
            for freq in chord(ctx, degree, 1):
                ctx.mix.place(
                    ctx.sound(("piano", freq, 2.0), lambda f=freq: ins.piano(f, 2.0, ctx.sr)),
                    start + k * 4 * ctx.beat / hits_per_chord,
                    0.22 * gain * ctx.level("harmony"),
                    pan=0.15,
                )


def string_pad(ctx: Context, degrees: tuple[int, ...], gain: float = 1.0) -> None:
    for start, degree in progression(ctx, degrees):
        ctx.mix.place(
            ins.pad(chord(ctx, degree, 0), 4 * ctx.beat + 0.3, ctx.sr, ctx.style.brightness),
            start,
            0.3 * gain * ctx.level("harmony"),
        )


# -- the recipes -----------------------------------------------------------------------------
