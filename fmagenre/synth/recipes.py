"""Genre recipes: how each of fma_small's eight genres is put together from the instruments.

A recipe is a few musically meaningful choices — tempo, drum pattern, instrumentation,
harmony or scale, texture — drawn around an artist's style, then varied per track. The
eight recipes share instruments and overlap in tempo the way real genres do (pop and
electronic share synths and four-on-the-floor kicks, folk and instrumental share acoustic
tones, every genre sometimes borrows an element of a neighbour), so a classifier learns
real differences and cannot be perfect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fmagenre.fma.facts import SMALL_GENRES
from fmagenre.synth import instruments as ins

GENRES = tuple(SMALL_GENRES)  # fma_small's eight, alphabetical

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "hijaz": (0, 1, 4, 5, 7, 8, 10),
    "bhairav": (0, 1, 4, 5, 7, 8, 11),
}

# Tempo range (BPM), usual scales, and the genres whose elements a track may borrow.
PROFILES: dict[str, tuple[tuple[float, float], tuple[str, ...], tuple[str, ...]]] = {
    "Electronic": ((116, 134), ("minor", "dorian"), ("Pop", "Hip-Hop", "Experimental")),
    "Experimental": ((60, 160), ("minor", "hijaz"), ("Electronic", "Instrumental")),
    "Folk": ((70, 112), ("major", "major_pentatonic"), ("Instrumental", "Pop", "International")),
    "Hip-Hop": ((78, 98), ("minor", "minor_pentatonic"), ("Electronic", "Pop")),
    "Instrumental": ((56, 96), ("major", "minor"), ("Folk", "Electronic", "Experimental")),
    "International": ((88, 132), ("hijaz", "bhairav", "major_pentatonic"), ("Folk", "Electronic")),
    "Pop": ((94, 126), ("major", "major_pentatonic"), ("Electronic", "Rock", "Folk")),
    "Rock": ((108, 152), ("minor_pentatonic", "major", "minor"), ("Pop", "Folk")),
}


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


def artist_style(genre: str, rng: np.random.Generator) -> ArtistStyle:
    (low, high), scales, _ = PROFILES[genre]
    return ArtistStyle(
        genre=genre,
        tempo=float(rng.uniform(low, high)),
        root=int(rng.integers(40, 52)),
        scale=str(rng.choice(scales)),
        brightness=float(rng.uniform(0.2, 1.0)),
        reverb=float(rng.uniform(0.05, 0.35)),
        drive=float(rng.uniform(2, 8)),
        borrow=float(rng.uniform(0.2, 0.6)),
        levels={
            part: float(rng.uniform(0.6, 1.3))
            for part in ("drums", "bass", "harmony", "lead", "texture")
        },
    )


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


def electronic(ctx: Context) -> None:
    drums(
        ctx, "x...x...x...x...", "................", "..x...x...x...x.", clap_p="....x.......x..."
    )
    degrees = ((0, 5, 2, 6), (0, 3, 4, 0), (0, 0, 5, 6))[ctx.rng.integers(0, 3)]
    synth_bass(ctx, degrees, per_beat=2 if ctx.rng.random() < 0.6 else 4)
    arpeggio(ctx, degrees)
    if ctx.rng.random() < 0.5:
        string_pad(ctx, degrees, 0.6)


def hip_hop(ctx: Context) -> None:
    swing = ctx.rng.uniform(0.1, 0.3)
    drums(ctx, "x......x..x.....", "....x.......x...", "x.x.x.x.x.x.x.x.", swing=swing, gain=1.2)
    degrees = ((0, 0, 5, 3), (0, 3, 0, 4))[ctx.rng.integers(0, 2)]
    for start, degree in progression(ctx, degrees):
        sub = ins.sine(ctx.note(degree, -2), 4 * ctx.beat * 0.9, ctx.sr)
        ctx.mix.place(
            sub * ins.envelope(len(sub), ctx.sr, 0.01, 2.0), start, 0.5 * ctx.level("bass")
        )
    sung_melody(ctx, octave=0, per_beat=4, gain=1.0, rap=True)
    if ctx.rng.random() < 0.6:
        piano_chords(ctx, degrees, hits_per_chord=2, gain=0.6)


def rock(ctx: Context) -> None:
    drums(ctx, "x.......x.x.....", "....x.......x...", "x.x.x.x.x.x.x.x.", gain=1.1)
    crash = ins.cymbal(ctx.sr, ctx.rng)
    for start, _ in progression(ctx, (0,), beats_per_chord=16):
        ctx.mix.place(crash, start, 0.3 * ctx.level("drums"), pan=-0.3)
    degrees = ((0, 3, 4, 3), (0, 6, 5, 4), (0, 4, 5, 3))[ctx.rng.integers(0, 3)]
    for start, degree in progression(ctx, degrees):
        root = ctx.note(degree, -1)
        chord_tone = ctx.sound(
            ("power", root),
            lambda r=root: ins.power_chord(r, ctx.beat / 2 * 0.95, ctx.sr, ctx.style.drive),
        )
        for k in range(8):
            ctx.mix.place(
                chord_tone,
                start + k * ctx.beat / 2,
                0.28 * ctx.level("harmony"),
                pan=(-0.5, 0.5)[k % 2],
            )
    synth_bass(ctx, degrees, per_beat=2, gain=0.8)
    if ctx.rng.random() < 0.5:
        sung_melody(ctx, octave=1, per_beat=1, gain=0.8)


def folk(ctx: Context) -> None:
    degrees = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3))[ctx.rng.integers(0, 3)]
    plucked_arpeggio(ctx, degrees, per_beat=2 if ctx.rng.random() < 0.7 else 3)
    if ctx.rng.random() < 0.45:
        shaker = ins.shaker(ctx.sr, ctx.rng)
        for t in ctx.steps(2):
            ctx.mix.place(shaker, t, ctx.rng.uniform(0.15, 0.3) * ctx.level("drums"), pan=0.4)
    if ctx.rng.random() < 0.6:
        sung_melody(ctx, octave=1, per_beat=1, gain=0.7)


def pop(ctx: Context) -> None:
    drums(
        ctx, "x.......x.......", "....x.......x...", "x.x.x.x.x.x.x.x.", clap_p="....x.......x..."
    )
    degrees = (0, 4, 5, 3)
    piano_chords(ctx, degrees, hits_per_chord=4, gain=0.8)
    for start, degree in progression(ctx, degrees):
        freq = ctx.note(degree, -1)

        def make(freq: float = freq) -> np.ndarray:
            tone = ins.sine(freq, ctx.beat * 0.9, ctx.sr)
            return tone * ins.envelope(len(tone), ctx.sr, 0.005, 0.3)

        for k in range(4):
            ctx.mix.place(
                ctx.sound(("bass", freq), make), start + k * ctx.beat, 0.4 * ctx.level("bass")
            )
    sung_melody(ctx, octave=1, per_beat=2, gain=1.0)


def instrumental(ctx: Context) -> None:
    degrees = ((0, 5, 3, 4), (0, 2, 5, 4), (0, 3, 0, 4))[ctx.rng.integers(0, 3)]
    string_pad(ctx, degrees, 1.0)
    for start, degree in progression(ctx, degrees):
        notes = chord(ctx, degree, 1) + [ctx.note(degree + 7, 1)]
        hits = 8 if ctx.rng.random() < 0.5 else 4
        for k in range(hits):
            step = 4 * ctx.beat / hits
            note = ctx.sound(
                ("piano", notes[k % 4], 2.5), lambda f=notes[k % 4]: ins.piano(f, 2.5, ctx.sr)
            )
            ctx.mix.place(note, start + k * step, 0.25 * ctx.level("lead"), pan=0.2)


def international(ctx: Context) -> None:
    rng = ctx.rng
    ctx.mix.add(ins.drone(ctx.note(0, -1), ctx.seconds, ctx.sr), 0.12 * ctx.level("texture"))
    meter = ("x..x..x.x.x...", "x..x.x..x.x..x.x", "x.x..x.x.x..")[rng.integers(0, 3)]
    high, low = (
        ins.hand_drum(ctx.sr, rng, rng.uniform(280, 420)),
        ins.hand_drum(ctx.sr, rng, rng.uniform(90, 140)),
    )
    for i, t in enumerate(pattern_hits(ctx, meter)):
        ctx.mix.place(
            low if i % 3 == 0 else high, t, rng.uniform(0.35, 0.55) * ctx.level("drums"), pan=0.2
        )
    t = 0.0
    while t < ctx.seconds:
        length = ctx.beat / 2 * rng.choice([1, 1, 2, 3])
        degree = int(rng.integers(0, len(ctx.scale) + 2))
        ctx.mix.place(
            ins.pluck(ctx.note(degree, 1), min(1.2, length * 2), ctx.sr, rng, 0.993, buzz=0.6),
            t,
            0.35 * ctx.level("lead"),
            pan=-0.2,
        )
        t += length


def experimental(ctx: Context) -> None:
    rng, sr = ctx.rng, ctx.sr
    for _ in range(int(rng.integers(2, 5))):
        low = float(np.exp(rng.uniform(np.log(60), np.log(3000))))
        texture = ins.coloured_noise(ctx.seconds, sr, rng, low, low * rng.uniform(1.5, 6))
        sweep = 0.5 + 0.5 * np.sin(
            2 * np.pi * rng.uniform(0.02, 0.5) * np.arange(len(texture)) / sr + rng.uniform(0, 6)
        )
        ctx.mix.add(
            texture * sweep.astype(np.float32),
            0.25 * ctx.level("texture"),
            pan=rng.uniform(-0.7, 0.7),
        )
    ctx.mix.add(ins.grains(ctx.seconds, sr, rng, rng.uniform(3, 25)), 0.3 * ctx.level("lead"))
    hits = [ins.kick(sr, rng), ins.snare(sr, rng), ins.clap(sr, rng)]
    t = rng.exponential(0.5)
    while t < ctx.seconds:
        ctx.mix.place(
            hits[rng.integers(0, 3)],
            t,
            rng.uniform(0.2, 0.7) * ctx.level("drums"),
            pan=rng.uniform(-0.8, 0.8),
        )
        t += rng.exponential(rng.uniform(0.2, 1.0))
    if rng.random() < 0.5:
        carrier = ins.drone(rng.uniform(50, 200), ctx.seconds, sr)
        ring = np.sin(2 * np.pi * rng.uniform(20, 300) * np.arange(len(carrier)) / sr).astype(
            np.float32
        )
        ctx.mix.add(carrier * ring, 0.1 * ctx.level("harmony"))
    if rng.random() < 0.4:  # a stretch of near-silence
        start = int(rng.uniform(0, ctx.seconds * 0.7) * sr)
        ctx.mix.buffer[start : start + int(rng.uniform(1, 4) * sr)] *= 0.05


RECIPES: dict[str, Callable[[Context], None]] = {
    "Electronic": electronic,
    "Experimental": experimental,
    "Folk": folk,
    "Hip-Hop": hip_hop,
    "Instrumental": instrumental,
    "International": international,
    "Pop": pop,
    "Rock": rock,
}

# What a track borrows from a neighbour genre: one characteristic part, at reduced level.
BORROWED: dict[str, Callable[[Context], None]] = {
    "Electronic": lambda ctx: arpeggio(ctx, (0, 5, 3, 4), gain=0.7),
    "Experimental": lambda ctx: ctx.mix.add(ins.grains(ctx.seconds, ctx.sr, ctx.rng, 6), 0.2),
    "Folk": lambda ctx: plucked_arpeggio(ctx, (0, 3, 4, 0), gain=0.6),
    "Hip-Hop": lambda ctx: sung_melody(ctx, octave=0, per_beat=4, gain=0.6, rap=True),
    "Instrumental": lambda ctx: string_pad(ctx, (0, 5, 3, 4), 0.6),
    "International": lambda ctx: ctx.mix.add(ins.drone(ctx.note(0, -1), ctx.seconds, ctx.sr), 0.08),
    "Pop": lambda ctx: sung_melody(ctx, octave=1, per_beat=2, gain=0.6),
    "Rock": lambda ctx: drums(
        ctx, "x.......x.x.....", "....x.......x...", "x.x.x.x.x.x.x.x.", gain=0.6
    ),
}


AMBIGUITY = 0.2  # share of tracks made mostly with a neighbour genre's recipe, as mislabel-prone real tracks are


def render(
    style: ArtistStyle, rng: np.random.Generator, sr: int, seconds: float, channels: int
) -> np.ndarray:
    """One track of the artist's genre: (n,) mono or (n, 2) stereo float32, peak below 0 dBFS."""
    _, _, neighbours = PROFILES[style.genre]
    tempo = style.tempo * rng.uniform(0.93, 1.07)
    root = style.root + int(rng.choice([0, 0, 0, 2, 5, 7, -2]))
    ctx = Context(style, rng, Mix(seconds, sr), seconds, tempo, root, SCALES[style.scale])
    if rng.random() < AMBIGUITY:
        # the neighbour's recipe carries the track; one part of the artist's own genre remains
        RECIPES[str(rng.choice(neighbours))](ctx)
        BORROWED[style.genre](ctx)
    else:
        RECIPES[style.genre](ctx)
    for _ in range(2):
        if rng.random() < style.borrow:
            BORROWED[str(rng.choice(neighbours))](ctx)
    audio = ctx.mix.buffer
    audio = np.stack(
        [ins.reverb(audio[:, c], sr, rng, 1.2, style.reverb) for c in range(2)], axis=1
    )
    audio += 10 ** (rng.uniform(-70, -32) / 20) * rng.standard_normal(audio.shape).astype(
        np.float32
    )  # hiss
    tilt = float(
        rng.uniform(0.3, 1.0) * (0.5 + style.brightness)
    )  # mastering: how much top end survives
    if tilt < 1.0:
        audio = np.stack(
            [ins.lowpass(audio[:, c], 2500 + 14000 * tilt, sr) for c in range(2)], axis=1
        )
    peak = float(np.max(np.abs(audio))) or 1.0
    audio *= 10 ** (-rng.uniform(0.5, 6) / 20) / peak
    if channels == 1:
        return audio.mean(axis=1).astype(np.float32)
    return audio.astype(np.float32)
