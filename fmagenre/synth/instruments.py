"""Sound sources for the synthetic genres: drums, bass, plucked and bowed tones, voices, noise.

Each function returns a float32 mono one-shot or note at sample rate ``sr``. They are small
physical or spectral caricatures — a kick is a falling sine, a plucked string is a
Karplus-Strong loop, a voice is a pulse train through formant resonances — enough to give
each genre the timbre, attack and spectral shape that audio features pick up.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def _time(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr), dtype=np.float32) / sr


def midi_hz(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def envelope(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    """Linear attack then exponential decay (time constant ``decay`` seconds)."""
    t = np.arange(n, dtype=np.float32) / sr
    rise = np.minimum(1.0, t / max(attack, 1e-4))
    return (rise * np.exp(-np.maximum(t - attack, 0) / max(decay, 1e-4))).astype(np.float32)


def lowpass(x: np.ndarray, cutoff: float, sr: int, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff, 0.45 * sr)
    sos = signal.butter(order, cutoff, btype="low", fs=sr, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def highpass(x: np.ndarray, cutoff: float, sr: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff, 0.45 * sr), btype="high", fs=sr, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def bandpass(x: np.ndarray, low: float, high: float, sr: int, order: int = 2) -> np.ndarray:
    high = min(high, 0.45 * sr)
    low = min(low, high * 0.9)
    sos = signal.butter(order, [low, high], btype="band", fs=sr, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


# -- drums --------------------------------------------------------------------------------


def kick(sr: int, rng: np.random.Generator, punch: float = 1.0) -> np.ndarray:
    t = _time(0.35, sr)
    f0 = rng.uniform(45, 65)
    sweep = f0 + 120 * punch * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(sweep) / sr
    return (np.sin(phase) * envelope(len(t), sr, 0.002, 0.12)).astype(np.float32)


def snare(sr: int, rng: np.random.Generator, brightness: float = 1.0) -> np.ndarray:
    t = _time(0.25, sr)
    body = np.sin(2 * np.pi * rng.uniform(170, 220) * t) * envelope(len(t), sr, 0.001, 0.05)
    noise = highpass(rng.standard_normal(len(t)).astype(np.float32), 1200 * brightness, sr)
    return (0.5 * body + 0.8 * noise * envelope(len(t), sr, 0.001, 0.07)).astype(np.float32)


def clap(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _time(0.3, sr)
    noise = bandpass(rng.standard_normal(len(t)).astype(np.float32), 900, 4000, sr)
    bursts = np.zeros(len(t), dtype=np.float32)
    for delay in (0.0, 0.011, 0.022):
        start = int(delay * sr)
        bursts[start:] += envelope(len(t) - start, sr, 0.001, 0.012 if delay < 0.02 else 0.09)
    return (noise * bursts).astype(np.float32)


def hihat(sr: int, rng: np.random.Generator, open_: bool = False) -> np.ndarray:
    t = _time(0.4 if open_ else 0.08, sr)
    noise = highpass(rng.standard_normal(len(t)).astype(np.float32), 7000, sr, order=4)
    return (0.5 * noise * envelope(len(t), sr, 0.001, 0.12 if open_ else 0.02)).astype(np.float32)


def cymbal(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _time(1.2, sr)
    noise = highpass(rng.standard_normal(len(t)).astype(np.float32), 4000, sr)
    return (0.4 * noise * envelope(len(t), sr, 0.002, 0.5)).astype(np.float32)


def hand_drum(sr: int, rng: np.random.Generator, pitch: float) -> np.ndarray:
    """Tabla- or darbuka-like: a pitched membrane with a falling pitch and a slap."""
    t = _time(0.4, sr)
    bend = pitch * (1 + 0.6 * np.exp(-t / 0.02))
    tone = np.sin(2 * np.pi * np.cumsum(bend) / sr) + 0.3 * np.sin(
        2 * np.pi * 2.7 * np.cumsum(bend) / sr
    )
    slap = bandpass(rng.standard_normal(len(t)).astype(np.float32), 1500, 5000, sr) * envelope(
        len(t), sr, 0.001, 0.01
    )
    return (tone * envelope(len(t), sr, 0.001, rng.uniform(0.08, 0.2)) + 0.4 * slap).astype(
        np.float32
    )


def shaker(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _time(0.12, sr)
    noise = bandpass(rng.standard_normal(len(t)).astype(np.float32), 3000, 9000, sr)
    return (0.35 * noise * envelope(len(t), sr, 0.02, 0.03)).astype(np.float32)


# -- pitched sources ----------------------------------------------------------------------


def saw(freq: float, seconds: float, sr: int, detune: float = 0.0) -> np.ndarray:
    t = _time(seconds, sr)
    wave = 2 * ((freq * t) % 1.0) - 1
    if detune:
        wave = 0.5 * wave + 0.5 * (2 * ((freq * (1 + detune) * t) % 1.0) - 1)
    return wave.astype(np.float32)


def square(freq: float, seconds: float, sr: int, duty: float = 0.5) -> np.ndarray:
    t = _time(seconds, sr)
    return np.where((freq * t) % 1.0 < duty, 1.0, -1.0).astype(np.float32)


def sine(freq: float, seconds: float, sr: int, vibrato: float = 0.0) -> np.ndarray:
    t = _time(seconds, sr)
    phase = 2 * np.pi * freq * t
    if vibrato:
        phase += vibrato * np.sin(2 * np.pi * 5.5 * t) / 5.5 * freq * 0.01
    return np.sin(phase).astype(np.float32)


def pluck(
    freq: float,
    seconds: float,
    sr: int,
    rng: np.random.Generator,
    damping: float = 0.996,
    buzz: float = 0.0,
) -> np.ndarray:
    """Karplus-Strong plucked string; ``buzz`` > 0 adds a sitar-like jawari rattle."""
    n = int(seconds * sr)
    period = max(2, int(round(sr / freq)))
    excitation = np.zeros(n, dtype=np.float32)
    burst = rng.uniform(-1, 1, size=min(period, n)).astype(np.float32)
    excitation[: len(burst)] = burst
    denominator = np.zeros(period + 2)
    denominator[0] = 1.0
    denominator[period] = -damping / 2
    denominator[period + 1] = -damping / 2
    string = signal.lfilter([1.0], denominator, excitation).astype(np.float32)
    if buzz:
        string = np.tanh(string * (1 + 6 * buzz)) + buzz * np.sign(string) * np.abs(string) ** 3
    return (string * envelope(n, sr, 0.001, seconds * 0.6)).astype(np.float32)


def piano(freq: float, seconds: float, sr: int) -> np.ndarray:
    """Additive tone with inharmonic partials that decay faster the higher they are."""
    t = _time(seconds, sr)
    tone = np.zeros(len(t), dtype=np.float32)
    for k in range(1, 8):
        partial = freq * k * np.sqrt(1 + 0.0004 * k * k)
        if partial > sr / 2.2:
            break
        tone += (0.6 / k) * np.sin(2 * np.pi * partial * t) * np.exp(-t * (1.2 + 0.9 * k))
    return (tone * envelope(len(t), sr, 0.003, seconds)).astype(np.float32)


def pad(freqs: list[float], seconds: float, sr: int, brightness: float) -> np.ndarray:
    """Detuned saw chord with a slow attack, low-passed: strings or synth pad."""
    voice = np.zeros(int(seconds * sr), dtype=np.float32)
    for freq in freqs:
        voice += saw(freq, seconds, sr, detune=0.004)
    voice = lowpass(voice / max(1, len(freqs)), 900 + 2500 * brightness, sr)
    n = len(voice)
    attack = min(0.6, seconds / 3)
    shape = np.minimum(1.0, np.arange(n) / (attack * sr)) * np.minimum(
        1.0, (n - np.arange(n)) / (0.3 * sr)
    )
    return (voice * shape).astype(np.float32)


def power_chord(root: float, seconds: float, sr: int, drive: float) -> np.ndarray:
    """Distorted root + fifth + octave: the rock guitar."""
    tone = (
        saw(root, seconds, sr, 0.003)
        + saw(root * 1.5, seconds, sr, 0.003)
        + 0.5 * saw(root * 2, seconds, sr)
    )
    tone = np.tanh(drive * tone)
    return lowpass(tone * envelope(len(tone), sr, 0.003, seconds * 1.5), 3500, sr)


def voice(freq: float, seconds: float, sr: int, rng: np.random.Generator, vowel: int) -> np.ndarray:
    """A sung or spoken syllable: a glottal pulse train shaped by vowel formants."""
    formants = [
        (730, 1090, 2440),
        (270, 2290, 3010),
        (300, 870, 2240),
        (530, 1840, 2480),
        (570, 840, 2410),
    ][vowel % 5]
    t = _time(seconds, sr)
    jitter = 1 + 0.01 * np.sin(2 * np.pi * 5 * t + rng.uniform(0, 6))
    phase = np.cumsum(freq * jitter) / sr
    pulses = (2 * (phase % 1.0) - 1) ** 3
    breath = 0.05 * rng.standard_normal(len(t))
    source = (pulses + breath).astype(np.float32)
    out = np.zeros(len(t), dtype=np.float32)
    for i, formant in enumerate(formants):
        out += bandpass(source, formant * 0.85, formant * 1.15, sr) / (i + 1)
    return (out * envelope(len(t), sr, 0.02, seconds * 0.8)).astype(np.float32)


def drone(freq: float, seconds: float, sr: int) -> np.ndarray:
    """A tanpura-like sustained tone rich in upper partials, gently pulsing."""
    t = _time(seconds, sr)
    tone = sum(
        (1 / k) * np.sin(2 * np.pi * freq * k * t + k) for k in range(1, 10) if freq * k < sr / 2.2
    )
    return (tone * (0.8 + 0.2 * np.sin(2 * np.pi * 0.7 * t))).astype(np.float32)


# -- textures -----------------------------------------------------------------------------


def coloured_noise(
    seconds: float, sr: int, rng: np.random.Generator, low: float, high: float
) -> np.ndarray:
    return bandpass(rng.standard_normal(int(seconds * sr)).astype(np.float32), low, high, sr)


def grains(seconds: float, sr: int, rng: np.random.Generator, density: float) -> np.ndarray:
    """Short windowed tone grains at random times and atonal pitches."""
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    for _ in range(int(density * seconds)):
        length = int(rng.uniform(0.01, 0.12) * sr)
        start = int(rng.uniform(0, max(1, n - length)))
        freq = float(np.exp(rng.uniform(np.log(80), np.log(6000))))
        grain = np.sin(2 * np.pi * freq * np.arange(length) / sr) * np.hanning(length)
        out[start : start + length] += rng.uniform(0.2, 1.0) * grain.astype(np.float32)
    return out


def reverb(
    x: np.ndarray, sr: int, rng: np.random.Generator, seconds: float, wet: float
) -> np.ndarray:
    """Convolution with decaying noise: a cheap room."""
    if wet <= 0:
        return x
    ir = rng.standard_normal(int(seconds * sr)).astype(np.float32) * envelope(
        int(seconds * sr), sr, 0.005, seconds / 4
    )
    ir /= np.sqrt(np.sum(ir**2)) + 1e-9
    tail = signal.fftconvolve(x, ir, mode="full")[: len(x)].astype(np.float32)
    return ((1 - wet) * x + wet * tail).astype(np.float32)
