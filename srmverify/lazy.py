"""Lazy package exports (PEP 562): a package ``__init__`` names what it exports, and each name
is imported from its submodule on first use, so that ``import srmverify`` and the CLI start
without numpy, the solvers or networkx.

A package writes its exports once as a table and, for type checkers, the same names as
imports under ``TYPE_CHECKING`` (``tests/test_startup.py`` checks that the two agree)::

    _EXPORTS = {".relu": ("ReLUNet",), ".snn": ("SNN", "Affine")}
    __getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
    if TYPE_CHECKING:
        from .relu import ReLUNet
        from .snn import Affine, SNN

An export written ``"public=private"`` is the submodule's ``private`` under the name ``public``;
a module name without a leading dot is absolute. An export named like a submodule
(``srmverify.simulate``, the function, and ``srmverify/simulate/``, the package) stays the export:
importing the submodule does not replace it (as with an eager ``from .simulate import simulate``).

Examples
--------
>>> import types
>>> sys.modules["demo"] = types.ModuleType("demo")
>>> getattr_, dir_, all_ = lazy_exports("demo", {"json.decoder": ("JSONDecodeError", "Error=JSONDecodeError")})
>>> all_, getattr_("Error") is getattr_("JSONDecodeError"), "Error" in vars(sys.modules["demo"])
(['JSONDecodeError', 'Error'], True, True)
>>> getattr_("nothing")
Traceback (most recent call last):
AttributeError: module 'demo' has no attribute 'nothing'
>>> del sys.modules["demo"]
"""
from __future__ import annotations

import importlib
import sys
import types
from typing import Any, Callable, Mapping, Sequence


class _Package(types.ModuleType):
    """A package module whose exports are not overwritten by its same-named submodules."""

    _exports: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        if (name in self._exports and isinstance(value, types.ModuleType)
                and value.__name__ == f"{self.__name__}.{name}"):
            return      # the import system binding the submodule: the export keeps the name
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` of ``package`` exporting, from each submodule (a
    relative name such as ``".relu"``), the names listed for it; a resolved name is cached in the
    package's namespace, so ``__getattr__`` runs once per name."""
    where: dict[str, tuple[str, str]] = {}
    for module, names in exports.items():
        for entry in names:
            public, _, private = entry.partition("=")
            where[public] = (module, private or public)
    mod = sys.modules[package]
    if type(mod) is types.ModuleType:
        mod.__class__ = _Package
        vars(mod)["_exports"] = frozenset(where)

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, private = where[name]
        value = getattr(importlib.import_module(module, package), private)
        vars(sys.modules[package])[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, list(where)
