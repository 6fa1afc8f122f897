"""A stand-in for web.whatsapp.com and WhatsApp's servers, for tests and benchmarks.

    sim = FakeWhatsApp(SimSettings.fast())
    url = await sim.start("127.0.0.1", 9311)   # the page that provides the site's modules
    control = SimControl(url)                  # what phones and the network do (/__sim/...)
    ...
    await control.aclose(); await sim.stop()

See "The simulator" in docs/driver.md. The page imitates the site; it never defines window.WADriver.
"""
from .app import FakeWhatsApp
from .control import SimControl, SimControlError
from .network import FORCEABLE_STATES, WA_STATES, SimError
from .settings import SimSettings

__all__ = [
    "FakeWhatsApp", "SimSettings", "SimControl", "SimControlError", "SimError",
    "WA_STATES", "FORCEABLE_STATES",
]
