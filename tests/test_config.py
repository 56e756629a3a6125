"""The config file: made on first run, saved atomically, never lost to damage, a full disk or bad rights."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import config
from tests.helpers import PROJECT_ROOT, file_modes_enforced, fill_disk, tmpfs


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("COUCHCAST_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def config_file(home) -> Path:
    path = home / "config" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def the_config(config_file) -> config.ConfigFile:
    """The config file as the server reads and writes it."""
    return config.ConfigFile(config_file)


@pytest.fixture
def folders(tmp_path) -> list[str]:
    made = [tmp_path / "Videos", tmp_path / "Films été"]
    for folder in made:
        folder.mkdir()
    return [str(f) for f in made]


def truncated(content: object) -> str:
    """JSON cut short, as a crash in the middle of a non-atomic write would leave it."""
    return json.dumps(content)[:-3]


def kept_aside(config_file: Path) -> list[Path]:
    return sorted(config_file.parent.glob("config.json.corrupt-*"))


def test_first_run_creates_the_file(config_file, the_config):
    the_config.load()
    assert json.loads(config_file.read_text())["access_key"]


def test_first_run_key_has_at_least_128_bits(home, the_config):
    key = the_config.load().config.access_key
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) * 8 >= 128


def test_first_run_reports_no_problem(home, the_config):
    assert the_config.load().problems == []


def test_the_key_is_kept_across_loads(home, the_config):
    assert the_config.load().config.access_key == the_config.load().config.access_key


def test_two_installs_get_different_keys(tmp_path):
    keys = set()
    for name in ("a", "b"):
        keys.add(config.ConfigFile(tmp_path / name / "config.json").load().config.access_key)
    assert len(keys) == 2


def test_saved_values_come_back(home, folders, the_config):
    the_config.update(folders=tuple(folders), port=9000)
    loaded = the_config.load().config
    assert (loaded.folders, loaded.port) == (tuple(folders), 9000)


def test_a_folder_name_that_is_not_utf8_survives_a_save(home, tmp_path, the_config):
    odd = os.fsdecode(bytes(tmp_path) + b"/caf\xe9")  # a Latin-1 name from an old USB stick
    the_config.update(folders=(odd,))
    assert the_config.load().config.folders == (odd,)


def test_save_leaves_no_temporary_file(config_file, the_config):
    the_config.update(port=9001)
    assert [p.name for p in config_file.parent.iterdir()] == ["config.json"]


def test_corrupt_json_is_moved_aside_with_its_content(config_file, folders, the_config):
    damaged = truncated({"folders": folders, "port": 8700})
    config_file.write_text(damaged)
    the_config.load()
    (kept,) = kept_aside(config_file)
    assert kept.read_text() == damaged


def test_corrupt_json_is_reported_naming_where_it_was_kept(config_file, the_config):
    config_file.write_text("{not json")
    (problem,) = the_config.load().problems
    assert str(kept_aside(config_file)[0]) in problem


def test_corrupt_json_keeps_its_shared_folders(config_file, folders, the_config):
    config_file.write_text(truncated({"folders": folders, "port": 8700}))
    assert the_config.load().config.folders == tuple(folders)


def test_corrupt_json_is_replaced_by_a_valid_file(config_file, folders, the_config):
    config_file.write_text(truncated({"folders": [folders[0]], "port": 8700}))
    the_config.load()
    assert json.loads(config_file.read_text())["folders"] == [folders[0]]


def test_two_corruptions_in_the_same_second_are_both_kept(config_file, the_config):
    for damaged in ("{one", "{two"):
        config_file.write_text(damaged)
        the_config.load()
    assert sorted(p.read_text() for p in kept_aside(config_file)) == ["{one", "{two"]


def test_a_file_that_is_not_utf8_is_kept_aside_not_overwritten(config_file, folders, the_config):
    damaged = json.dumps({"folders": [folders[0]], "note": "X"}).encode().replace(b"X", b"\xff\xfe")
    config_file.write_bytes(damaged)
    result = the_config.load()
    assert [p.read_bytes() for p in kept_aside(config_file)] == [damaged]
    assert result.config.folders == (folders[0],)


@pytest.mark.parametrize(
    "field, value",
    [
        ("port", "8765"),
        ("port", 70000),
        ("port", True),
        ("access_key", 12345),
        ("access_key", "ключ"),  # no link or cookie carries it as it is
        ("start_at_login", "yes"),
    ],
)
def test_a_wrong_type_keeps_the_folders_and_is_reported(config_file, folders, field, value, the_config):
    config_file.write_text(
        json.dumps({"folders": folders, "port": 9100, "access_key": "kept-key", field: value})
    )
    result = the_config.load()
    assert result.config.folders == tuple(folders)
    assert field in result.problems[0]
    assert len(kept_aside(config_file)) == 1


def test_a_wrong_port_keeps_the_access_key(config_file, folders, the_config):
    config_file.write_text(json.dumps({"folders": folders, "port": "x", "access_key": "kept-key"}))
    assert the_config.load().config.access_key == "kept-key"


def test_folders_that_are_not_a_list_are_reported(config_file, the_config):
    config_file.write_text(json.dumps({"folders": "/home/me/Videos", "access_key": "k"}))
    assert '"folders"' in the_config.load().problems[0]


def test_missing_folders_of_a_valid_file_are_kept(config_file, the_config):
    # An unplugged drive is not damage: its folder stays shared, ready for when it comes back.
    config_file.write_text(json.dumps({"folders": ["/media/usb/Films"], "access_key": "k"}))
    assert the_config.load().config.folders == ("/media/usb/Films",)


def test_a_json_list_instead_of_an_object_is_kept_aside(config_file, folders, the_config):
    config_file.write_text(json.dumps(folders))
    result = the_config.load()
    assert (result.config.folders, len(kept_aside(config_file))) == (tuple(folders), 1)


def test_a_config_path_that_is_a_folder_is_moved_aside_and_reported(config_file, the_config):
    config_file.mkdir()
    result = the_config.load()
    assert "Could not read" in result.problems[0]
    assert json.loads(config_file.read_text())["access_key"] == result.config.access_key


LOAD_AND_PRINT = """
import json
from server import config
from server.dirs import user_dirs
result = config.ConfigFile(config.config_path(user_dirs())).load()
print(json.dumps({"problems": result.problems, "key": result.config.access_key}))
"""


def test_an_unreadable_file_is_kept_aside_and_reported(config_file):
    config_file.write_text(json.dumps({"folders": ["/x"], "access_key": "owner-only"}))
    config_file.chmod(0o000)
    run = subprocess.run(
        [*file_modes_enforced(), sys.executable, "-c", LOAD_AND_PRINT],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    outcome = json.loads(run.stdout)
    assert "Could not read" in outcome["problems"][0]
    assert outcome["key"] != "owner-only"
    (kept,) = kept_aside(config_file)
    assert json.loads(kept.read_text())["access_key"] == "owner-only"


@pytest.fixture
def tiny_disk(home):
    """The config folder on a real 64 KiB tmpfs (root only), so that a save really runs out of space."""
    with tmpfs(home / "config", "64k") as folder:
        yield folder


def test_full_disk_keeps_the_old_file_intact(tiny_disk, folders, the_config):
    the_config.update(folders=(folders[0],))
    before = (tiny_disk / "config.json").read_bytes()
    fill_disk(tiny_disk)
    with pytest.raises(config.ConfigError):
        the_config.update(folders=tuple(folders) + ("/" + "x" * 60000,))
    assert (tiny_disk / "config.json").read_bytes() == before


def test_full_disk_error_names_the_file_and_the_reason(tiny_disk, the_config):
    the_config.load()
    fill_disk(tiny_disk)
    with pytest.raises(config.ConfigError, match=r"config\.json \(No space left on device\)"):
        the_config.update(folders=("/" + "x" * 60000,))


def test_full_disk_leaves_no_temporary_file(tiny_disk, the_config):
    the_config.load()
    fill_disk(tiny_disk)
    with pytest.raises(config.ConfigError):
        the_config.update(folders=("/" + "x" * 60000,))
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["config.json", "filler"]


def test_full_disk_on_first_run_is_reported_not_raised(tiny_disk, the_config):
    fill_disk(tiny_disk)
    result = the_config.load()
    assert "Could not save" in result.problems[0]
    assert result.config.access_key
