"""Verification queries: bounds -> encode -> solve -> decode -> exact re-check
(:mod:`.pipeline`), branch and bound over input splits (:mod:`.bab`), the queries themselves
(:mod:`.queries`)."""
from .queries import check_property, check_vnnlib, equivalence, output_bounds, robustness

__all__ = ["output_bounds", "robustness", "equivalence", "check_property", "check_vnnlib"]
