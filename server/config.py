"""Configuration: config.yaml, environment overrides, validation.

Loading happens in two phases because plugin sections are only known once the
plugins named in ``plugins:`` are registered: :func:`load_core` validates the
core keys, :func:`validate_plugin_sections` the sections plugins declare through
the ``config_schema`` hook.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

ENV_PREFIX = "WAMULTI_"
DEFAULT_CONFIG_FILE = "config.yaml"


class ConfigError(Exception):
    """A configuration problem, said in one line that names the key."""


class Config(dict):
    """A validated configuration: a dict whose keys also read as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return Config(value) if isinstance(value, dict) and not isinstance(value, Config) else value


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ServerSchema(_Strict):
    host = fields.String(load_default="127.0.0.1")
    port = fields.Integer(load_default=8080, validate=validate.Range(min=0, max=65535))
    max_body_bytes = fields.Integer(load_default=1024 * 1024, validate=validate.Range(min=1024))
    cors_origins = fields.List(fields.String(), load_default=list)
    xheaders = fields.Boolean(load_default=False)


def database_url(value: str) -> None:
    """A URL the backends can open: the error says which forms there are."""
    from server.db import parse_url

    try:
        parse_url(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class DatabaseSchema(_Strict):
    url = fields.String(load_default=None, allow_none=True, validate=database_url)
    pool_size = fields.Integer(load_default=10, validate=validate.Range(min=2, max=500))
    connect_timeout = fields.Float(load_default=5.0, validate=validate.Range(min=0.1))
    query_timeout = fields.Float(load_default=30.0, validate=validate.Range(min=0.1))


class LoggingSchema(_Strict):
    level = fields.String(
        load_default="INFO", validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
    )
    format = fields.String(load_default="text", validate=validate.OneOf(["text", "json"]))

    @pre_load
    def any_case(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            for key, case in (("level", str.upper), ("format", str.lower)):
                if isinstance(data.get(key), str):
                    data = {**data, key: case(data[key].strip())}
        return data


class EventsSchema(_Strict):
    backend = fields.String(load_default="memory", validate=validate.OneOf(["memory", "redis"]))
    redis_url = fields.String(load_default="redis://127.0.0.1:6379/0")
    redis_prefix = fields.String(load_default="wamulti:", validate=validate.Length(min=1, max=64))


class WebsocketSchema(_Strict):
    queue_size = fields.Integer(load_default=256, validate=validate.Range(min=1, max=100_000))
    ping_interval = fields.Float(load_default=20.0, validate=validate.Range(min=0))
    reauth_interval = fields.Float(load_default=30.0, validate=validate.Range(min=0.05))
    max_message_bytes = fields.Integer(load_default=64 * 1024, validate=validate.Range(min=256))
    max_per_user = fields.Integer(load_default=20, validate=validate.Range(min=1, max=10_000))


class CoreSchema(Schema):
    """The keys the core owns; other top-level sections belong to plugins."""

    class Meta:
        unknown = "exclude"

    data_dir = fields.String(load_default="data")
    plugins = fields.List(fields.String(), load_default=list)
    # Installed third-party plugins load unless named here (their entry point names).
    disabled_plugins = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    server = fields.Nested(ServerSchema, load_default=lambda: ServerSchema().load({}))
    database = fields.Nested(DatabaseSchema, load_default=lambda: DatabaseSchema().load({}))
    logging = fields.Nested(LoggingSchema, load_default=lambda: LoggingSchema().load({}))
    events = fields.Nested(EventsSchema, load_default=lambda: EventsSchema().load({}))
    websocket = fields.Nested(WebsocketSchema, load_default=lambda: WebsocketSchema().load({}))


CORE_KEYS = frozenset(CoreSchema().fields)


def read_file(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Read a YAML file; a missing default file is an empty config."""
    if path is None:
        if not Path(DEFAULT_CONFIG_FILE).exists():
            return {}
        path = DEFAULT_CONFIG_FILE
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config: {path} is not valid YAML: {exc}".replace("\n", " ")) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: {path} must hold a mapping at the top level")
    return data


def apply_env(raw: dict[str, Any], environ: Mapping[str, str], sections: Iterable[str]) -> dict[str, Any]:
    """Overlay ``WAMULTI_<SECTION>__<KEY>`` variables for the given top-level names.

    Values are parsed as YAML, so ``8080`` is a number and ``[a, b]`` a list (but
    never a mapping: ``prefix:`` stays a string).
    Variables naming other sections (``WAMULTI_TEST_MYSQL``) are left alone.
    """
    out = copy.deepcopy(raw)
    wanted = set(sections)
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split("__")]
        if path[0] not in wanted or not all(path):
            continue
        try:
            parsed = yaml.safe_load(value) if value != "" else ""
        except yaml.YAMLError:
            parsed = value
        if isinstance(parsed, dict):
            parsed = value  # "a:b:" is meant as a string, not a mapping
        node = out
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = parsed
    return out


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """The first (dotted key, message) pair of marshmallow's nested messages."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                dotted = prefix or "config"
            return _first_error(value, dotted)
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], prefix) if not isinstance(messages[0], str) else (prefix, messages[0])
    return prefix, str(messages)


def _raise_config_error(exc: ValidationError, prefix: str = "") -> None:
    key, message = _first_error(exc.messages, prefix)
    raise ConfigError(f"config: {key}: {message}") from None


def load_core(raw: dict[str, Any], environ: Mapping[str, str] | None = None) -> tuple[Config, dict[str, Any]]:
    """Validate the core keys; return them and the raw file (for plugin sections)."""
    environ = os.environ if environ is None else environ
    merged = apply_env(raw, environ, CORE_KEYS)
    try:
        core = CoreSchema().load(merged)
    except ValidationError as exc:
        _raise_config_error(exc)
    if not core["database"]["url"]:
        core["database"]["url"] = f"sqlite:///{Path(core['data_dir']) / 'wamulti.db'}"
    return Config(core), merged


def validate_plugin_sections(
    config: Config,
    raw: dict[str, Any],
    schemas: Mapping[str, type[Schema]],
    tolerated: Iterable[str],
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate each plugin's section and reject top-level keys nobody owns.

    ``tolerated`` names sections of known plugins that are switched off: their
    settings may stay in the file without being checked.
    """
    environ = os.environ if environ is None else environ
    merged = apply_env(raw, environ, schemas.keys())
    known = CORE_KEYS | set(schemas) | set(tolerated)
    for key in merged:
        if key not in known:
            raise ConfigError(f"config: {key}: unknown section (no enabled plugin owns it)")
    out = Config(config)
    for section, schema_cls in schemas.items():
        value = merged.get(section) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"config: {section}: must be a mapping")
        try:
            out[section] = schema_cls(unknown=RAISE).load(value)
        except ValidationError as exc:
            _raise_config_error(exc, section)
    return out
