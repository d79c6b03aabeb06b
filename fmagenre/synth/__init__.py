"""The synthetic FMA dataset: the offline default of the pipeline and of its tests."""

from fmagenre.synth.dataset import FAULTS, SynthSummary, generate_dataset, pack_archives

__all__ = ["FAULTS", "SynthSummary", "generate_dataset", "pack_archives"]
