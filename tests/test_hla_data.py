"""Reference-data handling: locating a release, the on-disk index cache, download + md5 check.

The download tests build, in tmp_path, a tree laid out like the ANHIG/IMGTHLA repository from
the verbatim shared 3.58.0 files and fetch it through a ``file://`` base URL (no network).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hla_support import hla_data_dir, needs_data
from marrowsim.cli import main
from marrowsim.clinical.hla import load_reference, match
from marrowsim.clinical.hla.download import (
    DownloadError,
    download_release,
    parse_md5sums,
    release_branch,
)
from marrowsim.clinical.hla.reference import find_release_dir, user_cache_dir
from marrowsim.errors import DataNotFoundError, InputError

UPSTREAM = {  # upstream path → file name in the shared copy
    "wmda/md5checksum.txt": "md5checksum.txt",
    "wmda/README.md": "WMDA-README.md",
    "wmda/hla_nom.txt": "hla_nom.txt",
    "wmda/hla_nom_g.txt": "hla_nom_g.txt",
    "wmda/hla_nom_p.txt": "hla_nom_p.txt",
    "wmda/rel_dna_ser.txt": "rel_dna_ser.txt",
    "wmda/rel_ser_ser.txt": "rel_ser_ser.txt",
    "tce/dpb_tce.csv": "dpb_tce.csv",
    "Allelelist.txt": "Allelelist.txt",
    "release_version.txt": "release_version.txt",
    "LICENCE.md": "IMGTHLA-LICENCE.md",
}


def upstream_tree(root: Path, branch: str = "Latest") -> str:
    src = hla_data_dir()
    assert src is not None
    for rel, name in UPSTREAM.items():
        (root / branch / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / name, root / branch / rel)
    return root.as_uri() + "/"


def test_no_data_says_how_to_get_it(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("MARROWSIM_HLA_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "nothing"))
    with pytest.raises(DataNotFoundError, match="marrowsim hla download"):
        find_release_dir()
    assert main(["match", "--recipient", "A*01:01", "--donor", "A*01:01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MARROWSIM_HLA_DATA" in err[0]


def test_missing_directory_and_missing_files(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        find_release_dir(tmp_path / "absent")
    (tmp_path / "hla_nom_g.txt").write_text("# version: IPD-IMGT/HLA 3.58.0\n")
    with pytest.raises(DataNotFoundError, match=r"lacks hla_nom_p\.txt"):
        find_release_dir(tmp_path)


@needs_data
def test_index_is_cached_by_release_and_checksum(monkeypatch, tmp_path):
    monkeypatch.setenv("MARROWSIM_CACHE_DIR", str(tmp_path / "cache"))
    assert user_cache_dir() == tmp_path / "cache"
    copy = tmp_path / "release"
    shutil.copytree(hla_data_dir(), copy)
    ref = load_reference(copy)
    files = list((tmp_path / "cache" / "hla" / "3.58.0").glob("index-*.pickle"))
    assert len(files) == 1 and ref.release == "3.58.0"
    assert load_reference(copy) is ref  # in-process memo
    # a changed directory gets a new digest, hence a rebuilt index
    (copy / "rel_ser_ser.txt").chmod(0o644)
    with (copy / "rel_ser_ser.txt").open("a") as fh:
        fh.write("\nB;99;98;\n")
    rebuilt = load_reference(copy)
    assert rebuilt.digest != ref.digest and ("B", "99") in rebuilt.splits
    assert len(list((tmp_path / "cache" / "hla" / "3.58.0").glob("index-*.pickle"))) == 2


@needs_data
def test_cached_index_loads_from_disk(monkeypatch, tmp_path):
    from marrowsim.clinical.hla import reference

    monkeypatch.setenv("MARROWSIM_CACHE_DIR", str(tmp_path / "cache"))
    first = load_reference(hla_data_dir())
    reference._load_indexed.cache_clear()
    monkeypatch.setattr(reference, "_build", lambda *a: pytest.fail("index was rebuilt"))
    again = load_reference(hla_data_dir())
    assert again.digest == first.digest and len(again.alleles) == len(first.alleles)


@pytest.mark.parametrize(
    ("text", "branch"), [("Latest", "Latest"), ("3.58.0", "3580"), ("3580", "3580")]
)
def test_release_branch(text, branch):
    assert release_branch(text) == branch


def test_release_branch_rejects_nonsense():
    with pytest.raises(InputError, match="malformed IPD-IMGT/HLA release"):
        release_branch("v3-58")


def test_parse_md5sums_both_styles():
    bsd = "MD5 (hla_nom.txt) = 841ed72754f5477575e308b83f950bb4\n"
    gnu = "841ed72754f5477575e308b83f950bb4  hla_nom.txt\n"
    assert (
        parse_md5sums(bsd)
        == parse_md5sums(gnu)
        == {"hla_nom.txt": "841ed72754f5477575e308b83f950bb4"}
    )


@needs_data
def test_download_verifies_and_writes_a_usable_release(tmp_path, monkeypatch, capsys):
    base = upstream_tree(tmp_path / "upstream")
    monkeypatch.setenv("MARROWSIM_HLA_BASE_URL", base)
    monkeypatch.setenv("MARROWSIM_CACHE_DIR", str(tmp_path / "cache"))
    dest = tmp_path / "data" / "imgt-hla"
    assert main(["hla", "download", "--dest", str(dest), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"release": "3.58.0"' in out and '"verified": true' in out
    assert (dest / "wmda" / "hla_nom_g.txt").is_file() and (dest / "tce/dpb_tce.csv").is_file()
    ref = load_reference(dest)
    assert match("A*01:01", "A*01:01", ref).loci[0].level == "match"
    # a second download replaces the first atomically and leaves no temporary folders
    download_release("Latest", dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["imgt-hla"]


@needs_data
def test_download_of_a_release_branch(tmp_path):
    base = upstream_tree(tmp_path / "upstream", branch="3580")
    path = download_release("3.58.0", tmp_path / "out", base_url=base)
    assert (path / "Allelelist.txt").is_file()


@needs_data
def test_corrupted_file_fails_the_checksum_and_writes_nothing(tmp_path):
    base = upstream_tree(tmp_path / "upstream")
    target = tmp_path / "upstream" / "Latest" / "wmda" / "hla_nom_p.txt"
    target.write_bytes(target.read_bytes().replace(b"A*;01:02", b"A*;01:99", 1))
    dest = tmp_path / "data" / "imgt-hla"
    with pytest.raises(DownloadError, match=r"checksum mismatch for wmda/hla_nom_p\.txt"):
        download_release("Latest", dest, base_url=base)
    assert not dest.exists() and list((tmp_path / "data").iterdir()) == []


def test_unreachable_file_is_a_download_error(tmp_path):
    with pytest.raises(DownloadError, match="could not fetch"):
        download_release("Latest", tmp_path / "out", base_url=(tmp_path / "none").as_uri())
    assert not (tmp_path / "out").exists()


@needs_data
def test_empty_checksum_list_is_rejected(tmp_path):
    base = upstream_tree(tmp_path / "upstream")
    (tmp_path / "upstream" / "Latest" / "wmda" / "md5checksum.txt").write_text("nothing\n")
    with pytest.raises(DownloadError, match="lists no checksums"):
        download_release("Latest", tmp_path / "out", base_url=base)
