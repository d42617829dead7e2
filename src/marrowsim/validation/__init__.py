"""Validation: published-target scenarios, calibration scripts and the validation report."""
