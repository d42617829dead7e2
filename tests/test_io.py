"""Atomic writes: readers never see a partial file, and the file gets ordinary permissions."""

from __future__ import annotations

import os
import stat

from marrowsim.io import _umask_by_setting, process_umask, write_bytes_atomic, write_text_atomic


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_follows_the_umask_not_the_private_temporary_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "out.json", "{}")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "out.json") == 0o644
    assert (tmp_path / "out.json").read_text() == "{}"


def test_replacing_a_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "model.xml"
    path.write_bytes(b"old")
    path.chmod(0o640)
    write_bytes_atomic(path, b"new")
    assert _mode(path) == 0o640
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["model.xml"]  # no temporary file left


def test_the_umask_is_read_without_setting_it_where_the_kernel_reports_it():
    old = os.umask(0o027)
    try:
        assert process_umask() == 0o027
    finally:
        os.umask(old)
    _umask_by_setting.cache_clear()
    assert _umask_by_setting() == old  # the fallback agrees (it reads once per process)
