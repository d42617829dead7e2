"""HLA typing, matching and DPB1 TCE permissiveness on an IPD-IMGT/HLA release.

>>> from marrowsim.clinical.hla import load_reference, match  # doctest: +SKIP
>>> match("A*01:01,A*02:01 B*08:01", "A*01:01 B*08:01", load_reference()).grade_8  # doctest: +SKIP

Reference data are read from a release directory the user names (see
:mod:`marrowsim.clinical.hla.reference`); marrowsim ships none of them.
"""

from marrowsim.clinical.hla.matching import (
    GRADE_LOCI,
    LocusMatch,
    MatchResult,
    compare_locus,
    match,
    parse_grade,
)
from marrowsim.clinical.hla.reference import (
    CITATIONS,
    HlaReference,
    find_release_dir,
    load_reference,
)
from marrowsim.clinical.hla.resolve import ResolvedPosition, UnknownAlleleError, resolve
from marrowsim.clinical.hla.tce import TCE_CATEGORIES, tce_category
from marrowsim.clinical.hla.typing import (
    HlaName,
    HlaTyping,
    HlaTypingError,
    LocusTyping,
    Position,
    parse_name,
    parse_typing,
)

__all__ = [
    "CITATIONS",
    "GRADE_LOCI",
    "TCE_CATEGORIES",
    "HlaName",
    "HlaReference",
    "HlaTyping",
    "HlaTypingError",
    "LocusMatch",
    "LocusTyping",
    "MatchResult",
    "Position",
    "ResolvedPosition",
    "UnknownAlleleError",
    "compare_locus",
    "find_release_dir",
    "load_reference",
    "match",
    "parse_grade",
    "parse_name",
    "parse_typing",
    "resolve",
    "tce_category",
]
