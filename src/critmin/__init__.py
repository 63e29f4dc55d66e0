"""critmin: design and stress-test a critical-minerals preferential trade zone.

The library's entry points::

    import critmin
    world = critmin.load_world(2024)            # the bundled baseline
    result = critmin.simulate("scenario.toml")  # or a dict in the same schema
    result.to_dict()                            # the results contract
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["CritminError", "Scenario", "World", "__version__", "assess", "load_world", "simulate"]

if TYPE_CHECKING:
    from critmin.assessment import assess
    from critmin.errors import CritminError
    from critmin.scenario import Scenario
    from critmin.simulation import simulate
    from critmin.world import World, load_world

# Public name -> (module, attribute). No public name is also the name of a submodule: importing a
# submodule sets it as an attribute of the package, which would shadow a function of that name
# (so ``critmin.simulate`` lives in ``critmin.simulation``, ``critmin.assess`` in
# ``critmin.assessment``).
_LAZY = {
    "load_world": ("critmin.world", "load_world"),
    "World": ("critmin.world", "World"),
    "simulate": ("critmin.simulation", "simulate"),
    "Scenario": ("critmin.scenario", "Scenario"),
    "assess": ("critmin.assessment", "assess"),
    "CritminError": ("critmin.errors", "CritminError"),
}


def __getattr__(name: str) -> Any:
    """Import the public API lazily so that ``import critmin`` stays fast; each name is kept in
    the package after its first use."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'critmin' has no attribute {name!r}")
