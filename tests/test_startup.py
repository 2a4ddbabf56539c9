"""Start-up (issue 10 item 6; ``tests/test_reliability.py`` has the coarse start-up time check):
lazy package exports, lazy CLI commands, ``info`` versions, and
``--timeout`` counted on the wall clock from the start of the process."""
from __future__ import annotations

import ast
import importlib
import importlib.metadata
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import srmverify
from srmverify import ReLUNet, save_network
from srmverify_cli import main as cli_main
from srmverify_cli.main import COMMANDS, app, run

#: never imported by ``import srmverify``, ``srmverify --help`` or ``srmverify info [NET]``
HEAVY = ("z3", "pulp", "onnx", "numba", "dask", "networkx", "highspy", "scipy", "matplotlib", "sklearn")
LAZY_PACKAGES = ("srmverify", "srmverify.formats")


def _modules_after(*steps: str) -> list[list[str]]:
    """Heavy (and a few light) modules loaded after each of ``steps``, run one after the other
    in one fresh interpreter."""
    watch = (*HEAVY, "numpy", "rich", "pydantic", "srmverify.network")
    script = "import sys\nseen = []\n" + "".join(
        f"{step}\nseen.append(sorted(m for m in {watch!r} if m in sys.modules))\n" for step in steps)
    script += "sys.stdout = sys.__stdout__; print(repr(seen))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def test_import_and_help_load_neither_numpy_nor_the_solvers():
    assert _modules_after("import srmverify", "from srmverify_cli.main import run; run(['--help'])",
                          "run(['--version'])") == [[], [], []]


def test_info_loads_no_solver():
    ex = Path(srmverify.__file__).parent / "data" / "examples"
    steps = ["from srmverify_cli.main import run; run(['info'])",
             f"run(['info', {str(ex / 'snn_2_3_2.json')!r}])", f"run(['info', {str(ex / 'relu_2_8_3.json')!r}])"]
    for loaded in _modules_after(*steps):
        assert not set(loaded) & set(HEAVY), loaded


def test_every_public_name_resolves_from_its_submodule():
    for name in srmverify.__all__:
        assert getattr(srmverify, name) is not None, name
    assert srmverify.DEFAULT_SETTINGS is importlib.import_module("srmverify.settings").DEFAULT
    importlib.import_module("srmverify.simulate.exact")    # importing the subpackage keeps the function
    assert callable(srmverify.simulate) and srmverify.simulate is importlib.import_module("srmverify.simulate.fast").simulate
    ns: dict = {}
    exec("from srmverify import *", ns)
    assert set(srmverify.__all__) <= set(ns)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_exports_agree_with_the_type_checking_imports(package):
    """The table the package exports at run time names exactly what mypy sees."""
    mod = importlib.import_module(package)
    tree = ast.parse(Path(mod.__file__).read_text())
    checked: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imp in node.body:
                if isinstance(imp, ast.ImportFrom) and imp.level == 1:
                    for alias in imp.names:
                        checked[alias.asname or alias.name] = ("." + (imp.module or ""), alias.name)
    table = {entry.partition("=")[0]: (module, entry.partition("=")[2] or entry.partition("=")[0])
             for module, names in mod._EXPORTS.items() for entry in names}
    assert table == checked
    for name in table:
        assert name in mod.__all__ and name in dir(mod)


def test_help_lists_each_command_as_the_command_describes_itself():
    from typer._click.utils import make_default_short_help

    group = cli_main.typer.main.get_group(app)
    for name, (module, text) in COMMANDS.items():
        cmd = group.get_command(None, name)
        assert cmd is not None and cmd.callback.__module__ == f"srmverify_cli.{module}"
        for width in (30, 60, 1000):
            assert make_default_short_help(text, width) == cmd.get_short_help_str(width), \
                f"{name}: copy the first paragraph of its help into COMMANDS in cli/main.py"
    # every module of cli/ with a register(app), and every command it registers, is in the table
    import pkgutil

    import srmverify_cli

    registering = {m.name for m in pkgutil.iter_modules(srmverify_cli.__path__)
                   if hasattr(importlib.import_module(f"srmverify_cli.{m.name}"), "register")}
    assert registering == {m for m, _ in COMMANDS.values()}
    for module in registering:
        sub = cli_main.typer.Typer()
        importlib.import_module(f"srmverify_cli.{module}").register(sub)
        names = {c.name or c.callback.__name__ for c in sub.registered_commands}
        assert names == {n for n, (m, _) in COMMANDS.items() if m == module}, \
            f"srmverify_cli.{module} registers {sorted(names)}: list each in COMMANDS in cli/main.py"


def test_info_without_a_network_prints_the_installed_versions(capsys):
    assert run(["info", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["srmverify"] == srmverify.__version__ and d["python"] == sys.version.split()[0]
    assert d["libraries"]["numpy"] == importlib.metadata.version("numpy") == np.__version__
    assert run(["info"]) == 0
    assert "numpy" in capsys.readouterr().out


def test_timeout_holds_on_the_wall_clock_from_process_start(tmp_path):
    """Bounds of an 8-60-60-1 ReLU network: minutes without a limit; with ``--timeout 2`` the
    process (start-up, imports, the query, the exit) ends well within 2 + 5 s."""
    rng = np.random.default_rng(0)
    net = ReLUNet([(rng.normal(size=(60, 8)), rng.normal(size=60)), (rng.normal(size=(60, 60)), rng.normal(size=60)),
                   (rng.normal(size=(1, 60)), rng.normal(size=1))])
    path = tmp_path / "big.json"
    save_network(net, path)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", "from srmverify_cli.main import main; main()", "bounds", str(path),
                          "--box", "-1:1", "--timeout", "2", "--json"], capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t0
    assert out.returncode == 4 and json.loads(out.stdout)["complete"] is False, out.stderr
    assert wall < 2 + 5
