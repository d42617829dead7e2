"""Read an IPD-IMGT/HLA release directory and build the indexes a matcher needs.

The release files are licensed CC BY-ND by IPD-IMGT/HLA (cite Barker et al. NAR 2023;51:D948,
Robinson et al. HLA 2024;103:e15549, Robinson et al. Tissue Antigens 2000;55:280). marrowsim
never ships them: it reads a directory the user names (argument, ``--hla-data DIR`` or the
``MARROWSIM_HLA_DATA`` variable) or the one ``marrowsim hla download`` wrote. Files are found
flat (``DIR/hla_nom_g.txt``) or in the upstream layout (``DIR/wmda/hla_nom_g.txt``,
``DIR/tce/dpb_tce.csv``).

Parsed indexes are derived data: they are built at first use and pickled under the user cache
(``MARROWSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/marrowsim``, else ``~/.cache/marrowsim``), in
``hla/<release>/index-<digest>.pickle`` where the digest covers the md5 of every file read, so a
changed directory rebuilds. Nothing derived is written into the project.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

from marrowsim.errors import DataNotFoundError
from marrowsim.io import write_bytes_atomic

ENV_DATA = "MARROWSIM_HLA_DATA"
ENV_CACHE = "MARROWSIM_CACHE_DIR"
_INDEX_FORMAT = 1

#: file → where it may lie inside a release directory (flat copy or upstream layout).
REQUIRED_FILES = {
    "hla_nom_g.txt": ("hla_nom_g.txt", "wmda/hla_nom_g.txt"),
    "hla_nom_p.txt": ("hla_nom_p.txt", "wmda/hla_nom_p.txt"),
    "rel_dna_ser.txt": ("rel_dna_ser.txt", "wmda/rel_dna_ser.txt"),
    "rel_ser_ser.txt": ("rel_ser_ser.txt", "wmda/rel_ser_ser.txt"),
    "Allelelist.txt": ("Allelelist.txt",),
    "dpb_tce.csv": ("dpb_tce.csv", "tce/dpb_tce.csv"),
}
OPTIONAL_FILES = {
    "hla_nom.txt": ("hla_nom.txt", "wmda/hla_nom.txt"),
    "release_version.txt": ("release_version.txt",),
}

CITATIONS = (
    "Barker D, Maccari G, Georgiou X, Cooper M, Flicek P, Robinson J, Marsh SGE. "
    "The IPD-IMGT/HLA Database. Nucleic Acids Res 2023;51(D1):D948-D955.",
    "Robinson J, Barker D, Marsh SGE. 25 years of the IPD-IMGT/HLA Database. "
    "HLA 2024;103(6):e15549.",
    "Robinson J, Malik A, Parham P, Bodmer JG, Marsh SGE. IMGT/HLA - a sequence database for "
    "the human major histocompatibility complex. Tissue Antigens 2000;55:280-287.",
)

HOW_TO_GET = (
    "run `marrowsim hla download` or set MARROWSIM_HLA_DATA (or pass --hla-data DIR) to an "
    "IPD-IMGT/HLA release directory (hla_nom_g.txt, hla_nom_p.txt, rel_dna_ser.txt, "
    "rel_ser_ser.txt, Allelelist.txt, dpb_tce.csv)"
)


def user_cache_dir() -> Path:
    """The cache root: ``MARROWSIM_CACHE_DIR``, ``$XDG_CACHE_HOME/marrowsim`` or ``~/.cache``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "marrowsim"


def default_download_dir() -> Path:
    """Where ``marrowsim hla download`` writes by default (``$XDG_DATA_HOME/marrowsim/...``)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "marrowsim" / "imgt-hla"


def find_release_dir(path: str | os.PathLike | None = None) -> Path:
    """The release directory to use: ``path``, else ``MARROWSIM_HLA_DATA``, else the download."""
    if path is not None:
        candidate, origin = Path(path).expanduser(), "the given path"
    elif os.environ.get(ENV_DATA):
        candidate, origin = Path(os.environ[ENV_DATA]).expanduser(), ENV_DATA
    else:
        candidate, origin = default_download_dir(), None
        if not candidate.is_dir():
            raise DataNotFoundError(f"no IPD-IMGT/HLA reference data found; {HOW_TO_GET}")
    if not candidate.is_dir():
        raise DataNotFoundError(
            f"IPD-IMGT/HLA directory {str(candidate)!r} ({origin}) does not exist; {HOW_TO_GET}"
        )
    missing = [name for name in REQUIRED_FILES if _locate(candidate, name) is None]
    if missing:
        raise DataNotFoundError(
            f"IPD-IMGT/HLA directory {str(candidate)!r} lacks {', '.join(missing)}; {HOW_TO_GET}"
        )
    return candidate


def _locate(root: Path, name: str) -> Path | None:
    for rel in {**REQUIRED_FILES, **OPTIONAL_FILES}[name]:
        if (root / rel).is_file():
            return root / rel
    return None


def _data_lines(path: Path):
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line and not line.startswith("#"):
                yield line


def read_release_version(root: Path) -> str:
    """The release (e.g. ``"3.58.0"``) from the ``# version:`` header of the release files."""
    for name in ("release_version.txt", "hla_nom_g.txt"):
        path = _locate(root, name)
        if path is None:
            continue
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = re.search(r"version:\s*(?:IPD-IMGT/HLA\s*)?(\d+\.\d+\.\d+)", line)
                if m:
                    return m[1]
    return "unknown"


@dataclass
class HlaReference:
    """Indexes of one IPD-IMGT/HLA release (built by :func:`load_reference`).

    ``alleles``: every allele of the release; ``g_group``/``p_group``: allele → ARD group name
    (alleles alone in their group map to their own 3-field / 2-field name); ``serology``: allele →
    serological antigens (unambiguous, else possible, else assumed; rel_dna_ser.txt fields 3-5);
    ``splits``: broad antigen → its splits and associated antigens (rel_ser_ser.txt); ``tce``:
    DPB1 allele → V2 TCE group (``$`` and ``a`` stripped; 0 for nulls; None if unassigned);
    ``deleted``: deleted name → (identical-to, reason) from hla_nom.txt.
    """

    release: str
    directory: str
    digest: str
    alleles: frozenset[str]
    g_group: dict[str, str]
    p_group: dict[str, str]
    g_members: dict[str, tuple[str, ...]]
    p_members: dict[str, tuple[str, ...]]
    prefixes: dict[str, tuple[str, ...]]
    serology: dict[str, frozenset[str]]
    splits: dict[tuple[str, str], frozenset[str]]
    antigens: dict[str, frozenset[str]]
    tce: dict[str, int | None]
    deleted: dict[str, tuple[str, str]]
    by_locus: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def citations(self) -> tuple[str, ...]:
        return CITATIONS

    def credit(self) -> str:
        """One line crediting the release (show it wherever results computed from it appear)."""
        return f"IPD-IMGT/HLA release {self.release} (CC BY-ND; Barker 2023, Robinson 2024, 2000)"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _groups(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    group_of: dict[str, str] = {}
    members: dict[str, tuple[str, ...]] = {}
    suffix = "G" if path.name.endswith("_g.txt") else "P"
    for line in _data_lines(path):
        parts = line.split(";")
        if len(parts) < 3:
            continue
        locus, names, group = parts[0], parts[1].split("/"), parts[2]
        full = [f"{locus}{n}" for n in names]
        if group:
            gname = f"{locus}{group}"
        else:  # a singleton: the allele's own ARD-level name (3 fields for G, 2 for P)
            fields = names[0].rstrip("NLSCAQ").split(":")
            gname = f"{locus}{':'.join(fields[:3] if suffix == 'G' else fields[:2])}"
        members[gname] = tuple(full)
        for allele in full:
            group_of[allele] = gname
    return group_of, members


def _build(root: Path, digest: str, files: dict[str, Path]) -> HlaReference:
    alleles = []
    for line in _data_lines(files["Allelelist.txt"]):
        hla_id, _, name = line.partition(",")
        if hla_id.startswith("HLA") and name:
            alleles.append(name.strip())
    g_group, g_members = _groups(files["hla_nom_g.txt"])
    p_group, p_members = _groups(files["hla_nom_p.txt"])

    prefixes: dict[str, set[str]] = {}
    by_locus: dict[str, list[str]] = {}
    for allele in alleles:
        locus, _, rest = allele.partition("*")
        by_locus.setdefault(locus, []).append(allele)
        if rest[-1] in "NLSCAQ":  # suffixed alleles are only reached by their full name
            continue
        fields = rest.split(":")
        for k in range(1, len(fields)):
            prefixes.setdefault(f"{locus}*{':'.join(fields[:k])}", set()).add(allele)

    serology: dict[str, frozenset[str]] = {}
    antigens: dict[str, set[str]] = {}
    for line in _data_lines(files["rel_dna_ser.txt"]):
        parts = (line.split(";") + [""] * 6)[:6]
        locus, name = parts[0], parts[0] + parts[1]
        chosen: set[str] = set()
        for column in parts[2:5]:
            chosen = {a for a in column.split("/") if a and a not in {"0", "?"}}
            if chosen:
                break
        serology[name] = frozenset(chosen)
        antigens.setdefault(locus.rstrip("*"), set()).update(chosen)

    splits: dict[tuple[str, str], frozenset[str]] = {}
    for line in _data_lines(files["rel_ser_ser.txt"]):
        parts = (line.split(";") + [""] * 4)[:4]
        ser_locus, broad = parts[0], parts[1]
        children = {a for col in parts[2:4] for a in col.split("/") if a}
        splits[(ser_locus, broad)] = frozenset(children)

    tce: dict[str, int | None] = {}
    for line in _data_lines(files["dpb_tce.csv"]):
        cols = line.split(",")
        if cols[0] == "Allele" or len(cols) < 4:
            continue
        value = cols[3].replace("$", "").replace("a", "").strip()
        tce[cols[0]] = int(value) if value.isdigit() else None

    deleted: dict[str, tuple[str, str]] = {}
    if "hla_nom.txt" in files:
        for line in _data_lines(files["hla_nom.txt"]):
            parts = (line.split(";") + [""] * 6)[:6]
            if parts[0].endswith("*") and parts[3]:
                deleted[parts[0] + parts[1]] = (parts[0] + parts[4] if parts[4] else "", parts[5])

    return HlaReference(
        release=read_release_version(root),
        directory=str(root),
        digest=digest,
        alleles=frozenset(alleles),
        g_group=g_group,
        p_group=p_group,
        g_members=g_members,
        p_members=p_members,
        prefixes={k: tuple(sorted(v)) for k, v in prefixes.items()},
        serology=serology,
        splits=splits,
        antigens={k: frozenset(v) for k, v in antigens.items()},
        tce=tce,
        deleted=deleted,
        by_locus={k: tuple(v) for k, v in by_locus.items()},
    )


def _files(root: Path) -> dict[str, Path]:
    names = list(REQUIRED_FILES) + list(OPTIONAL_FILES)
    return {n: p for n in names if (p := _locate(root, n)) is not None}


def load_reference(path: str | os.PathLike | None = None, *, cache: bool = True) -> HlaReference:
    """Load (and on first use index and cache) an IPD-IMGT/HLA release directory.

    ``path`` defaults to ``MARROWSIM_HLA_DATA``, then the ``marrowsim hla download`` folder;
    raises :class:`~marrowsim.errors.DataNotFoundError` saying how to get the data otherwise.
    """
    root = find_release_dir(path).resolve()
    files = _files(root)
    digest = hashlib.md5(
        "|".join(f"{n}={_md5(p)}" for n, p in sorted(files.items())).encode()
        + f"|format={_INDEX_FORMAT}".encode()
    ).hexdigest()
    return _load_indexed(root, digest, cache, user_cache_dir())


@functools.lru_cache(maxsize=4)
def _load_indexed(root: Path, digest: str, cache: bool, cache_dir: Path) -> HlaReference:
    release = read_release_version(root)
    target = cache_dir / "hla" / release / f"index-{digest}.pickle"
    if cache and target.is_file():
        try:
            with target.open("rb") as fh:
                ref = pickle.load(fh)
            if isinstance(ref, HlaReference) and ref.digest == digest:
                ref.directory = str(root)
                return ref
        except Exception:  # a corrupt or stale cache file is rebuilt below
            pass
    ref = _build(root, digest, _files(root))
    if cache:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, pickle.dumps(ref, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # an unwritable cache only costs speed
            pass
    return ref
