"""Optional cross-check of marrowsim's ARD groups and serology against py-ard.

Skipped unless ``pyard`` is importable (it is not a dependency). Follows the offline recipe of
clinical.md §1.9c: lay out ``<root>/Latest/wmda/...`` from the verbatim release files, point
``IMGT_HLA_URL`` at it (read at import time of ``pyard.loader``) and build the sqlite cache in
tmp. Expected values were observed with py-ard 2.4.2 on release 3.58.0 (clinical.md §1.9c).
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from hla_support import hla_data_dir
from marrowsim.clinical.hla import load_reference, match

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyard") is None, reason="py-ard is not installed (optional)"
)


@pytest.fixture(scope="module")
def ard(tmp_path_factory):
    src = hla_data_dir()
    if src is None:
        pytest.skip("IPD-IMGT/HLA release not found: set MARROWSIM_HLA_DATA")
    root = tmp_path_factory.mktemp("imgt")
    wmda = root / "Latest" / "wmda"
    wmda.mkdir(parents=True)
    for name in ("hla_nom_g.txt", "hla_nom_p.txt", "rel_dna_ser.txt", "rel_ser_ser.txt"):
        shutil.copyfile(src / name, wmda / name)
    for name in ("Allelelist.txt", "release_version.txt"):
        shutil.copyfile(src / name, root / "Latest" / name)
    mp = pytest.MonkeyPatch()
    mp.setenv("IMGT_HLA_URL", root.as_uri() + "/")
    mp.setenv("PYARD_RC", "no")
    import pyard

    data_dir = tmp_path_factory.mktemp("pyard")
    yield pyard.init("Latest", data_dir=str(data_dir), load_mac=False)
    mp.undo()


def test_g_groups_agree(ard):
    ref = load_reference(hla_data_dir())
    for allele in ("A*01:01:01:01", "B*15:01:01:01", "DRB1*15:01:01:01", "C*07:01:01:01"):
        assert ard.redux(allele, "G") == ref.g_group[allele]


def test_lgx_of_a_null_hides_it_but_marrowsim_does_not(ard):
    assert ard.redux("A*01:01:01:02N", "lgx") == "A*01:01"  # the trap (clinical.md §1.1)
    lm = match("A*01:01:01:02N,A*02:01", "A*01:01,A*02:01", load_reference(hla_data_dir()))
    assert lm.loci[0].level != "match"


def test_serology_agrees(ard):
    ref = load_reference(hla_data_dir())
    assert "62" in ard.redux("B*15:01", "S").replace("B", "").split("/")
    assert ref.serology["B*15:01:01:01"] == frozenset({"62"})
