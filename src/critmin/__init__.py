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
    from critmin.assess import assess
    from critmin.errors import CritminError
    from critmin.scenario import Scenario
    from critmin.simulate import simulate
    from critmin.world import World, load_world

_LAZY = {
    "load_world": ("critmin.world", "load_world"),
    "World": ("critmin.world", "World"),
    "simulate": ("critmin.simulate", "simulate"),
    "Scenario": ("critmin.scenario", "Scenario"),
    "assess": ("critmin.assess", "assess"),
    "CritminError": ("critmin.errors", "CritminError"),
}


def __getattr__(name: str) -> Any:
    """Import the public API lazily so that ``import critmin`` stays fast."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'critmin' has no attribute {name!r}")
