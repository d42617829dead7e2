"""Solvers: the batched compiled Dormand–Prince engine and the SciPy reference path."""
