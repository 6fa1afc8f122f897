"""Every hook of server/hookspecs.py has a `### name` section in docs/plugins.md showing its exact signature."""
from __future__ import annotations

import ast
import inspect

from server import hookspecs
from tests.support.server import ROOT

PLUGINS_DOC = ROOT / "docs" / "plugins.md"


def hookspec_parameters() -> dict[str, list[str]]:
    """Hook name -> its parameter names, for every function marked with ``@hookspec``."""
    return {
        name: list(inspect.signature(fn).parameters)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "wamulti_spec")
    }


def documented_signatures(markdown: str) -> dict[str, str | None]:
    """Section name -> the first line of its first ```python block, for each `###` under `## Hooks`."""
    sections: dict[str, str | None] = {}
    in_hooks = in_code = capture = False
    current = None
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            capture = in_code and line.strip() == "```python" and current is not None and sections[current] is None
            continue
        if in_code:
            if capture:
                sections[current] = line.strip()
                capture = False
            continue
        if line.startswith("## "):
            in_hooks = line.strip() == "## Hooks"
            current = None
        elif in_hooks and line.startswith("### "):
            current = line[4:].strip()
            sections[current] = None
    return sections


def signature_names(line: str) -> tuple[str, list[str]]:
    """``def name(a: int, b) -> X`` -> ("name", ["a", "b"])."""
    fn = ast.parse(line.rstrip(":") + ": ...").body[0]
    assert isinstance(fn, ast.FunctionDef), line
    args = fn.args
    return fn.name, [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def problems(specs: dict[str, list[str]], sections: dict[str, str | None]) -> list[str]:
    found = []
    for name, params in sorted(specs.items()):
        if name not in sections:
            found.append(f"hook {name} has no '### {name}' section under '## Hooks' in docs/plugins.md")
            continue
        line = sections[name]
        if not line or not line.startswith("def "):
            found.append(f"section {name}: its first python block must start with the signature 'def {name}(...)'")
            continue
        shown, shown_params = signature_names(line)
        if shown != name or shown_params != params:
            found.append(f"section {name} shows {shown}({', '.join(shown_params)}); the hookspec is {name}({', '.join(params)})")
    for name in sorted(set(sections) - set(specs)):
        found.append(f"docs/plugins.md documents a hook {name!r} that server/hookspecs.py does not define")
    return found


def test_every_hookspec_has_a_docstring():
    specs = hookspec_parameters()
    assert len(specs) >= 10
    for name in specs:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"hookspec {name} has no docstring"


def test_every_hook_is_documented_with_its_exact_signature_and_nothing_else_is():
    assert problems(hookspec_parameters(), documented_signatures(PLUGINS_DOC.read_text(encoding="utf-8"))) == []


def test_the_check_catches_missing_wrong_and_invented_sections():
    specs = {"startup": ["app"], "user_deleted": ["app", "user_id"], "shutdown": ["app"]}
    markdown = "\n".join([
        "# Title", "## Handlers", "### startup", "```python", "def startup(app)", "```",
        "## Hooks",
        "### startup", "Some text.", "```python", "def startup(app: WamultiApp) -> None", "```",
        "```python", "# an example block is not the signature", "```",
        "### user_deleted", "```python", "def user_deleted(app, user)", "```",
        "### no_such_hook", "```python", "def no_such_hook(app)", "```",
        "## Events", "### shutdown", "```python", "def shutdown(app)", "```",
    ])
    sections = documented_signatures(markdown)
    assert sections == {
        "startup": "def startup(app: WamultiApp) -> None",
        "user_deleted": "def user_deleted(app, user)",
        "no_such_hook": "def no_such_hook(app)",
    }
    found = problems(specs, sections)
    assert any("hook shutdown has no" in p for p in found)
    assert any("user_deleted shows user_deleted(app, user)" in p for p in found)
    assert any("'no_such_hook'" in p for p in found)
    assert not any("startup" in p for p in found)
