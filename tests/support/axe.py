"""Accessibility checks in the Chromium tests: axe-core (from node_modules, as package-lock.json
pins it; `make test` installs it with `npm ci`) run in the page, and the keyboard's reach.

axe's source is evaluated through the DevTools protocol, which the page's Content-Security-Policy
does not govern: the page's own policy (no inline script) stays as it is for the test.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from tests.support.server import ROOT
from tests.support.webui import UI

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

RUN = """async (blocking) => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.filter((v) => blocking.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
  }));
}"""

# Every control a person may reach: links, buttons, fields, and anything put in the Tab order;
# visible and enabled. Each gets a number the walk below recognises it by.
MARK = """() => {
  const all = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')];
  const shown = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) && getComputedStyle(e).visibility !== 'hidden';
  const blocked = (e) => e.closest('[inert]') || (document.querySelector('dialog[open]') && !e.closest('dialog[open]'));
  const controls = all.filter((e) => !e.disabled && e.getAttribute('tabindex') !== '-1' && shown(e) && !blocked(e));
  controls.forEach((e, i) => { e.dataset.kb = String(i); });
  return controls.map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className || ''} "${(e.getAttribute('aria-label') || e.textContent || e.value || '').trim().slice(0, 40)}"`);
}"""


@lru_cache(maxsize=1)
def axe_source() -> str:
    assert AXE.exists(), f"{AXE} is missing: run `make install-node` (npm ci) first"
    return AXE.read_text()


async def axe_violations(ui: UI) -> list[dict[str, Any]]:
    """The page's serious and critical axe violations, as they are now (axe is injected once per
    document)."""
    if not await ui.page.evaluate("() => typeof window.axe === 'object'"):
        await ui.page.evaluate(axe_source(), force_expr=True)
    return await ui.page.evaluate(RUN, list(BLOCKING))


async def assert_accessible(ui: UI, what: str) -> None:
    """No serious or critical violation on the page; a screenshot either way."""
    found = await axe_violations(ui)
    await ui.shot(f"axe-{what}")
    assert not found, f"{what}: axe found " + "\n".join(f"{v['impact']} {v['id']} ({v['help']}): {v['nodes']}" for v in found)


async def assert_keyboard_reaches_everything(ui: UI, what: str, start: str = "body") -> None:
    """Tab from the top of the page (or from ``start``) reaches every visible control."""
    controls = await ui.page.evaluate(MARK)
    assert controls, f"{what}: no control on the page to reach"
    await ui.page.evaluate("(s) => { const e = document.querySelector(s); if (e !== document.body) e.focus(); else { document.activeElement?.blur(); } }", start)
    reached: set[str] = set()
    for _ in range(len(controls) + 10):
        await ui.press("Tab")
        mark = await ui.page.evaluate("() => document.activeElement?.dataset?.kb ?? null")
        if mark is not None:
            reached.add(mark)
        if len(reached) == len(controls):
            break
    missing = [label for i, label in enumerate(controls) if str(i) not in reached]
    assert not missing, f"{what}: Tab never reaches {missing}"
