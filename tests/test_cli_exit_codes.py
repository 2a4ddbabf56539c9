"""The exit-code table shared by every command: usage errors are click's own (2), never 5."""
import pytest

from srmverify_cli.main import run


@pytest.mark.parametrize("argv", [["nosuch"], ["simulate"], ["simulate", "x.json", "--bogus"], ["regions"]])
def test_usage_errors_exit_2(argv, capsys):
    assert run(argv) == 2
    assert "Error" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert run(["--help"]) == 0
    assert "simulate" in capsys.readouterr().out


def test_missing_file_is_bad_input(capsys, tmp_path):
    assert run(["info", str(tmp_path / "missing.json")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.json" in err[0]
