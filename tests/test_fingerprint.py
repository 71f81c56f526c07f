"""benchwatch.fingerprint: the CPU governor added to asv's machine entry."""

import json

import pytest

from benchwatch import fingerprint
from benchwatch.errors import UserError


def machine_file(tmp_path, data):
    path = tmp_path / ".asv-machine.json"
    path.write_text(json.dumps(data))
    return path


def test_governor_read_from_sysfs(tmp_path):
    gov = tmp_path / "scaling_governor"
    gov.write_text("performance\n")
    assert fingerprint.cpu_governor(gov) == "performance"
    assert fingerprint.host_facts(gov) == {"governor": "performance"}


def test_no_cpufreq_driver_is_recorded_as_none(tmp_path):
    assert fingerprint.cpu_governor(tmp_path / "missing") == "none"
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert fingerprint.cpu_governor(empty) == "none"


def test_stamp_adds_keys_and_keeps_asvs(tmp_path):
    path = machine_file(tmp_path, {"box": {"machine": "box", "cpu": "EPYC", "num_cpu": "2"},
                                   "other": {"machine": "other"}, "version": 1})
    assert fingerprint.stamp_machine("box", {"governor": "powersave"}, path) is True
    data = json.loads(path.read_text())
    assert data == {"box": {"machine": "box", "cpu": "EPYC", "num_cpu": "2",
                            "governor": "powersave"},
                    "other": {"machine": "other"}, "version": 1}
    before = path.stat().st_mtime_ns
    assert fingerprint.stamp_machine("box", {"governor": "powersave"}, path) is False
    assert path.stat().st_mtime_ns == before
    assert fingerprint.stamp_machine("box", {"governor": "performance"}, path) is True
    assert json.loads(path.read_text())["box"]["governor"] == "performance"


def test_missing_file_names_the_fix(tmp_path):
    with pytest.raises(UserError, match=r"\.asv-machine\.json: asv machine file is missing; "
                                        r"run 'asv machine --yes' first"):
        fingerprint.stamp_machine("box", {"governor": "x"}, tmp_path / ".asv-machine.json")


def test_unknown_machine_names_the_fix(tmp_path):
    path = machine_file(tmp_path, {"other": {"machine": "other"}, "version": 1})
    with pytest.raises(UserError, match="no entry for machine 'box'; run 'asv machine --yes "
                                        "--machine box' first"):
        fingerprint.stamp_machine("box", {"governor": "x"}, path)


def test_bad_json_names_file_and_line_and_is_left_alone(tmp_path):
    path = tmp_path / ".asv-machine.json"
    path.write_text('{\n  "box": {"machine": "box",}\n}\n')
    with pytest.raises(UserError) as err:
        fingerprint.stamp_machine("box", {"governor": "x"}, path)
    assert str(err.value).startswith(f"{path}:2: asv machine file is not valid JSON")
    assert path.read_text() == '{\n  "box": {"machine": "box",}\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == [".asv-machine.json"]
