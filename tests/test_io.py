"""Atomic output, and the check that it can be written before the work that produces it."""

from __future__ import annotations

import os

import pytest

from underdog._io import check_directory_writable, write_files_atomically


@pytest.mark.parametrize("exists", [False, True], ids=["new", "existing"])
def test_a_writable_directory_passes_and_nothing_is_left_behind(tmp_path, exists):
    target = tmp_path / "a" / "b" / "model"
    if exists:
        target.mkdir(parents=True)
    before = sorted(tmp_path.rglob("*"))
    check_directory_writable(target)
    assert sorted(tmp_path.rglob("*")) == before  # no temporary, no missing parent made
    write_files_atomically(target, {"f": b"x"})  # what the check vouched for
    assert (target / "f").read_bytes() == b"x"


@pytest.mark.parametrize("where", ["the directory", "an ancestor"])
def test_a_file_in_the_way_is_the_error_writing_would_raise(tmp_path, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    target = blocker if where == "the directory" else blocker / "sub" / "model"
    with pytest.raises(NotADirectoryError, match=f"{blocker} exists and is not a directory"):
        check_directory_writable(target)
    assert blocker.read_text() == "not a directory"
    assert os.listdir(tmp_path) == ["blocker"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any directory")
def test_a_directory_without_permission_is_named(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(PermissionError) as info:
            check_directory_writable(locked / "model")
        assert info.value.filename == str(locked / "model")
    finally:
        locked.chmod(0o700)
    assert os.listdir(locked) == []
