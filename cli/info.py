"""``srmverify info [NET]``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from srmverify.results import EXIT_OK

from .render import NETWORKS, JsonOpt, emit_json


def info_cmd(
    net: Optional[Path] = typer.Argument(None, help=f"Network file ({NETWORKS}); without one, print the versions."),
    as_json: JsonOpt = False,
) -> int:
    """Kind, sizes, weight signs and whether every neuron is guaranteed to fire; without a
    network, the versions of srmverify and of its solvers and format libraries."""
    if net is None:
        from srmverify.versions import versions  # package metadata only: no solver is imported

        v = versions()
        if as_json:
            emit_json(v)
        else:
            typer.echo(f"{'srmverify':>20}: {v['srmverify']}")
            typer.echo(f"{'python':>20}: {v['python']}")
            for name, version in v["libraries"].items():
                typer.echo(f"{name:>20}: {version or 'not installed'}")
        return EXIT_OK
    from srmverify.formats import load_network
    from srmverify.network.describe import describe

    d = describe(load_network(net))
    if as_json:
        emit_json(d)
    else:
        for k, val in d.items():      # plain lines (not rich: it is not needed here and costs start-up)
            typer.echo(f"{k:>20}: {val}")
    return EXIT_OK


def register(app: typer.Typer) -> None:
    app.command("info")(info_cmd)
