"""JSON Schemas of the files srmverify writes, and the format/version check of its readers.

Every JSON file srmverify writes names its format and version: networks
(``"format": "srmverify-network"``), ``--json`` results (``"srmverify-result"``) and equivalence
certificates (``"srmverify-equivalence-certificate/1"``, the version also in ``"version"``).
Readers accept files without the fields (written before they existed) and refuse a version they do
not know. The schemas (``network.json``, ``result.json``, ``certificate.json`` next to this module)
describe the files for other tools; the test suite validates every file the commands write.
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..errors import InputError

#: Version of every JSON format written by this release.
VERSION = 1
NETWORK_FORMAT = "srmverify-network"
RESULT_FORMAT = "srmverify-result"


def stamp(d: dict[str, Any], fmt: str) -> dict[str, Any]:
    """``d`` with its ``format`` and ``version`` fields first.

    >>> stamp({"kind": "relu"}, NETWORK_FORMAT)
    {'format': 'srmverify-network', 'version': 1, 'kind': 'relu'}
    """
    return {"format": fmt, "version": VERSION, **d}


def check_version(d: Any, src: str, fmt: str) -> None:
    """Refuse a file of another format or of a version this release does not know (absent = old file).

    >>> check_version({"format": "srmverify-network", "version": 2}, "n.json", NETWORK_FORMAT)
    Traceback (most recent call last):
    ...
    srmverify.errors.InputError: n.json: version = 2: unknown version of srmverify-network (this release reads version 1)
    """
    if not isinstance(d, dict):
        return
    if "format" in d and d["format"] != fmt:
        raise InputError(src, "format", d["format"], f"expected {fmt}")
    if "version" in d and (isinstance(d["version"], bool) or d["version"] != VERSION):
        raise InputError(src, "version", d["version"], f"unknown version of {fmt} (this release reads version {VERSION})")


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``name`` (``"network"``, ``"result"`` or ``"certificate"``)."""
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text())
