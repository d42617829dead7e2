"""Virtual cohorts: sampling, chunked execution, results store and outcome statistics.

Submodules are imported explicitly (``from marrowsim.cohort.statistics import summarise_arm``);
this package file imports nothing heavy.
"""
