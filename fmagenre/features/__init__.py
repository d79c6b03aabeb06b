"""FMA's 518 features: the fast maths, the plain reference, the per-track table."""
