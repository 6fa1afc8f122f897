"""The wamulti core: knows no feature, only how plugins meet.

Plugins mark their hook implementations with :data:`hookimpl`.
"""
import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("wamulti")
hookspec = pluggy.HookspecMarker("wamulti")

__all__ = ["hookimpl", "hookspec", "__version__"]
