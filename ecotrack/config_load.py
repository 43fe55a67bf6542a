"""Reading the configuration file: YAML with line numbers, environment overrides, errors with file:line.

The site model and its cross-checks are :mod:`ecotrack.config`; the meter and charger types come from
a :class:`~ecotrack.devices.registry.DriverRegistry` (default: the built-in drivers), whose config
models make up the ``meters:``/``chargers:`` unions (:func:`config_model`).

Every setting can be overridden by an environment variable ``ECOTRACK__<SECTION>__<KEY>`` (nested with
``__``; names are matched case-insensitively against the keys in the file). Values that are integer or
float literals become numbers, ``true``/``false`` bools, ``null``/``~`` None, values starting with ``[``
or ``{`` YAML flow collections; anything else stays a string for pydantic to convert (so ``off`` is a
mode, not YAML 1.1's False). An empty value is an error. Errors are collected, never raised one at a
time: :class:`ConfigError` carries every :class:`ConfigIssue` with file, line, dotted key path and reason.

:func:`load_config` (a file) and :func:`parse_config` (a mapping: the demo, tests) validate the same way,
including every check the daemon makes at start-up, so a configuration that passes can be built.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, cast

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model

from ecotrack.config import Config, cross_check, driver_checks
from ecotrack.devices.registry import DriverKind, DriverRegistry, builtin_registry

__all__ = [
    "ENV_PREFIX",
    "ConfigError",
    "ConfigIssue",
    "DataDirError",
    "config_json_schema",
    "config_model",
    "load_config",
    "parse_config",
    "resolve_data_dir",
]

ENV_PREFIX = "ECOTRACK__"

_log = logging.getLogger(__name__)

_Path = tuple[str | int, ...]
_M = TypeVar("_M", bound=BaseModel)


# ---------------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a configuration.

    ``line`` is 1-based, or ``None`` when unknown or when the value came from the environment variable
    ``env_var``. ``path`` is the dotted key path (``loadpoints.garage.min_a``); empty for the whole file.
    """

    file: str
    line: int | None
    path: str
    reason: str
    env_var: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        reason = self.reason
        if self.env_var:
            reason += f" (from environment variable {self.env_var})"
        return ": ".join(p for p in (where, self.path, reason) if p)


class ConfigError(Exception):
    """The configuration is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = sorted(
            issues, key=lambda i: (i.line is None, i.line or 0, i.path, i.reason)
        )
        super().__init__("\n".join(str(i) for i in self.issues))


# ------------------------------------------------------------------------------------------ YAML load

_LineMap = dict[tuple[str, ...], int]


#: What usually causes a YAML error whose context opened on an earlier line than the problem.
_UNCLOSED = {
    "flow sequence": "a '[' without its ']'?",
    "flow mapping": "a '{' without its '}'?",
    "quoted scalar": "a quote without its closing quote?",
}


def _yaml_error(e: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    """The line to report and the reason for a YAML syntax error.

    PyYAML marks where it noticed the problem, which for an unclosed ``[``, ``{`` or quote is a later
    line (the next key, or the end of the file); the context mark is where the construct opened. The
    error names the opening line, where the fix is, and says on which line the problem showed.
    """
    problem, context = e.problem_mark, e.context_mark
    if context is not None and problem is not None and context.line != problem.line:
        hint = next((f" ({h})" for k, h in _UNCLOSED.items() if k in (e.context or "")), "")
        opened = f"{e.context} that starts on this line" if e.context else "a construct that starts on this line"
        return context.line + 1, f"YAML syntax error: {opened}: {e.problem} on line {problem.line + 1}{hint}"
    text = " ".join(s for s in (e.context, e.problem) if s)
    mark = problem or context
    return (mark.line + 1 if mark else None), f"YAML syntax error: {text}"


def _index_lines(node: yaml.Node, prefix: tuple[str, ...], lines: _LineMap, dupes: list[_Path]) -> None:
    """Record the 1-based line of every key (and sequence item) below ``node``."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = (*prefix, key)
            if key in seen:
                dupes.append(path)
            seen.add(key)
            lines[path] = key_node.start_mark.line + 1
            _index_lines(value_node, path, lines, dupes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, str(i))
            lines[path] = item.start_mark.line + 1
            _index_lines(item, path, lines, dupes)


def _read_yaml(path: Path) -> tuple[Any, _LineMap, list[ConfigIssue]]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}, [ConfigIssue(file, None, "", "file not found")]
    except IsADirectoryError:
        return None, {}, [ConfigIssue(file, None, "", "is a directory, not a configuration file")]
    except (OSError, UnicodeDecodeError) as e:
        return None, {}, [ConfigIssue(file, None, "", f"cannot read: {e}")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        line, reason = _yaml_error(e)
        return None, {}, [ConfigIssue(file, line, "", reason)]
    except yaml.YAMLError as e:
        return None, {}, [ConfigIssue(file, None, "", f"YAML error: {e}")]
    finally:
        loader.dispose()
    lines: _LineMap = {(): 1}
    dupes: list[_Path] = []
    if node is not None:
        _index_lines(node, (), lines, dupes)
    issues = [
        ConfigIssue(file, lines.get(tuple(map(str, p))), _dotted(p), "duplicate key (the last one wins)")
        for p in dupes
    ]
    if data is None:
        issues.append(
            ConfigIssue(
                file, 1, "", "the file is empty; expected a mapping with site, meters, chargers, loadpoints"
            )
        )
    elif not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        issues.append(
            ConfigIssue(file, 1, "", f"the top level must be a mapping (site:, meters:, ...), not {kind}")
        )
    return data, lines, issues


def _dotted(path: Iterable[str | int]) -> str:
    return ".".join(str(p) for p in path)


# --------------------------------------------------------------------------------------- environment


_INT_RE = re.compile(r"[-+]?\d+")
_FLOAT_RE = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


class _EnvValueError(ValueError):
    """An environment value that cannot be used at all (reported with the variable's name)."""


def _parse_env_value(raw: str) -> Any:
    """An environment variable's value as a config value.

    Integer and float literals become numbers; ``true``/``false`` (any case) bools; ``null`` (any case)
    and ``~`` None; a value starting with ``[`` or ``{`` is a YAML flow collection. Everything else
    stays the raw string, which pydantic converts in lax mode: unlike YAML 1.1, ``off`` stays a word
    (a mode), ``07:30`` stays a time, and ``16 # A`` is not the number 16. Raises
    :class:`_EnvValueError` for an empty value or a broken flow collection.
    """
    value = raw.strip()
    if not value:
        raise _EnvValueError("empty value; unset the variable or write null explicitly")
    if _INT_RE.fullmatch(value):
        return int(value)
    if _FLOAT_RE.fullmatch(value):
        return float(value)
    lower = value.lower()
    if lower in ("true", "false"):
        return lower == "true"
    if lower == "null" or value == "~":
        return None
    if value[0] in "[{":
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e)
            raise _EnvValueError(f"not a valid YAML flow collection: {problem}") from None
        if not isinstance(parsed, list | dict):
            raise _EnvValueError("not a valid YAML flow collection")
        return parsed
    return raw


def _apply_env(
    data: dict[str, Any], env: Mapping[str, str], file: str
) -> tuple[dict[tuple[str, ...], str], list[ConfigIssue]]:
    """Apply ``ECOTRACK__...`` overrides to ``data`` in place.

    Returns the key paths that were set (mapped to the variable names) and problems.
    """
    set_paths: dict[tuple[str, ...], str] = {}
    issues: list[ConfigIssue] = []
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX):
            continue
        segments = var[len(ENV_PREFIX) :].split("__")
        if not segments or any(not s for s in segments):
            issues.append(ConfigIssue(file, None, "", "malformed variable name (empty key segment)", var))
            continue
        node: Any = data
        path: list[str] = []
        ok = True
        for i, seg in enumerate(segments):
            match = next((k for k in node if str(k).lower() == seg.lower()), None)
            key = match if match is not None else seg.lower()
            path.append(str(key))
            if i == len(segments) - 1:
                try:
                    node[key] = _parse_env_value(env[var])
                except _EnvValueError as e:
                    issues.append(ConfigIssue(file, None, _dotted(path), str(e), var))
                    ok = False
                break
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                issues.append(
                    ConfigIssue(file, None, _dotted(path), "is not a mapping; cannot set a key below it", var)
                )
                ok = False
                break
            node = child
        if ok:
            set_paths[tuple(path)] = var
    return set_paths, issues


# ------------------------------------------------------------------------------------------- loading


def _real_path(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Drop pydantic's union tags from ``loc``, keeping keys present in the data (or the last one)."""
    out: list[str | int] = []
    node = data
    for i, elem in enumerate(loc):
        present = (isinstance(node, dict) and elem in node) or (
            isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node)
        )
        if present:
            out.append(elem)
            node = node[elem]
        elif i == len(loc) - 1 and not (isinstance(node, dict) and node.get("type") == elem):
            out.append(elem)  # a missing key; not the union tag a model-level error ends with
        # else: a union tag such as "replay" or "function-after[...]"
    return tuple(out)


def _locate(
    path: tuple[str | int, ...], lines: _LineMap, env_paths: Mapping[tuple[str, ...], str]
) -> tuple[int | None, str | None]:
    """Line and environment variable responsible for the value at ``path``."""
    spath = tuple(str(p) for p in path)
    for env_path, var in env_paths.items():
        if spath[: len(env_path)] == env_path:
            return None, var
    if spath not in lines:
        for env_path, var in env_paths.items():
            if env_path[: len(spath)] == spath:
                return None, var
    for n in range(len(spath), -1, -1):
        if spath[:n] in lines:
            return lines[spath[:n]], None
    return None, None


def _reason(err: Mapping[str, Any]) -> str:
    kind = err.get("type")
    if kind == "missing":
        return "required setting is missing"
    if kind == "extra_forbidden":
        return "unknown setting"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        known = sorted(t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(","))
        return f"unknown type {ctx.get('tag')!r} (known: {', '.join(known)})"
    if kind == "union_tag_not_found":
        return "missing 'type' (which kind of device this is)"
    msg = str(err.get("msg", "invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def _resolve_relative(cfg: Config, base: Path) -> Config:
    """Expand ``~`` and make relative paths relative to the config file's directory ``base``."""

    def fix(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else base / p

    def fix_model(model: _M) -> _M:
        updates = {
            name: fix(value)
            for name in type(model).model_fields
            if isinstance(value := getattr(model, name), Path)
        }
        return model.model_copy(update=updates) if updates else model

    return cfg.model_copy(
        update={
            "data_dir": fix(cfg.data_dir) if cfg.data_dir is not None else None,
            "meters": {n: fix_model(m) for n, m in cfg.meters.items()},
            "chargers": {n: fix_model(c) for n, c in cfg.chargers.items()},
            "vehicles": {n: fix_model(v) for n, v in cfg.vehicles.items()},
        }
    )


def config_model(registry: DriverRegistry | None = None) -> type[Config]:
    """The :class:`Config` subclass whose ``meters:``/``chargers:`` are ``registry``'s types (default: built-in).

    Built with :func:`pydantic.create_model` as discriminated unions on ``type``, and cached per set of
    (kind, type, model), so loading the same registry twice reuses one class.
    """
    reg = registry if registry is not None else _builtin()
    return _config_model(reg.key(), reg)


def _builtin() -> DriverRegistry:
    return _cached_builtin()


@functools.lru_cache(maxsize=1)
def _cached_builtin() -> DriverRegistry:
    return builtin_registry()


def _config_model(key: tuple[Any, ...], registry: DriverRegistry) -> type[Config]:
    cached = _MODELS.get(key)
    if cached is None:
        cached = _MODELS[key] = _make_model(registry.copy())
    return cached


#: Models built by :func:`config_model`, by registry key (classes, not runtime objects).
_MODELS: dict[tuple[Any, ...], type[Config]] = {}


def _union(registry: DriverRegistry, kind: DriverKind) -> Any:
    models = [spec.config for spec in registry.specs(kind)]
    if not models:
        raise ValueError(f"the registry has no {kind} type")
    if len(models) == 1:
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007 (built at run time)


def _make_model(registry: DriverRegistry) -> type[Config]:
    fields = Config.model_fields
    meters: Any = dict[str, _union(registry, "meter")]  # type: ignore[misc]
    chargers: Any = dict[str, _union(registry, "charger")]  # type: ignore[misc]
    extra: dict[str, Any] = {}
    if registry.types("vehicle"):  # a registry without vehicle types keeps the placeholder (empty only)
        vehicles: Any = dict[str, _union(registry, "vehicle")]  # type: ignore[misc]
        extra["vehicles"] = (vehicles, Field(default_factory=dict, description=fields["vehicles"].description))
    model = create_model(
        "Config",
        __base__=Config,
        __module__=Config.__module__,
        meters=(meters, Field(description=fields["meters"].description)),
        chargers=(chargers, Field(description=fields["chargers"].description)),
        **extra,
    )
    model.registry = registry
    return model


def _validate(
    data: dict[str, Any],
    *,
    file: str,
    registry: DriverRegistry | None,
    base_dir: Path | None,
    lines: _LineMap | None = None,
    env_paths: Mapping[tuple[str, ...], str] | None = None,
    issues: list[ConfigIssue] | None = None,
) -> Config:
    """Validate ``data`` against the registry's model and every cross-check; ConfigError with all issues."""
    reg = registry if registry is not None else _builtin()
    found = list(issues or [])

    def issue(loc: tuple[str | int, ...], reason: str) -> ConfigIssue:
        real = _real_path(loc, data)
        line, var = _locate(real, lines or {}, env_paths or {})
        return ConfigIssue(file, line, _dotted(real), reason, var)

    cfg: Config | None = None
    try:
        cfg = config_model(_narrowed(reg, data)).model_validate(data, context={"skip_cross_check": True})
    except ValidationError as e:
        found += [issue(tuple(err["loc"]), _reason(cast(Mapping[str, Any], err))) for err in e.errors()]
    found += [issue(p, reason) for p, reason in cross_check(data, reg)]
    found += [issue(p, reason) for p, reason in driver_checks(data, reg, base_dir)]
    if found or cfg is None:
        raise ConfigError(found)
    return _resolve_relative(cfg, base_dir) if base_dir is not None else cfg


def _narrowed(registry: DriverRegistry, data: Mapping[str, Any]) -> DriverRegistry:
    """``registry`` cut down to the meter and charger types ``data`` uses.

    Config models build their validators lazily (``defer_build``), so a daemon validating with only
    the types it uses never builds the other drivers' validators (a few MiB on a Raspberry Pi). When
    an entry has no type or an unknown one, the full registry is used, so the error lists every known
    type.
    """
    narrowed = DriverRegistry()
    for kind, section in (("meter", "meters"), ("charger", "chargers"), ("vehicle", "vehicles")):
        entries = data.get(section)
        if kind == "vehicle" and entries is None:
            continue  # the section is optional
        if not isinstance(entries, Mapping) or not entries:
            return registry
        known = set(registry.types(kind))  # type: ignore[arg-type]
        used: set[str] = set()
        for entry in entries.values():
            kind_of = entry.get("type") if isinstance(entry, Mapping) else None
            if not isinstance(kind_of, str) or kind_of not in known:
                return registry
            used.add(kind_of)
        for name in sorted(used):
            narrowed.add(registry.get(kind, name))  # type: ignore[arg-type]
    return narrowed


def parse_config(
    data: Mapping[str, Any],
    registry: DriverRegistry | None = None,
    base_dir: Path | None = None,
    *,
    source: str = "<config>",
) -> Config:
    """Validate a configuration given as a mapping exactly as :func:`load_config` validates a file.

    Every cross-check runs (so a config that passes can be built). Relative paths are taken from
    ``base_dir`` when given (else the working directory). ``source`` names the data in the issues of
    the :class:`ConfigError` raised (which has no line numbers).
    """
    return _validate(dict(data), file=source, registry=registry, base_dir=base_dir)


def load_config(
    path: Path, env: Mapping[str, str] | None = None, registry: DriverRegistry | None = None
) -> Config:
    """Read, override from the environment and validate a configuration file.

    ``env`` defaults to ``os.environ``; pass ``{}`` to ignore the environment. ``registry`` gives the
    meter and charger types (default: the built-in ones). Relative paths in the file (``data_dir``, a
    replay ``trace``) are taken relative to the file's directory. Raises :class:`ConfigError` listing
    every problem, each with file and line.
    """
    path = Path(path)
    file = str(path)
    data, lines, issues = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(issues)
    env_paths, env_issues = _apply_env(data, os.environ if env is None else env, file)
    return _validate(
        data,
        file=file,
        registry=registry,
        base_dir=path.parent,
        lines=lines,
        env_paths=env_paths,
        issues=issues + env_issues,
    )


class DataDirError(Exception):
    """The data directory cannot be created or written; the message is one line naming it and why."""


def resolve_data_dir(config: Config | None, cli_value: Path | str | None = None) -> Path:
    """The directory for everything ecotrack writes, created if needed, private to this user (0700).

    ``--data-dir`` on the command line wins over ``data_dir`` in the config, which wins over the
    platform's user data directory. It holds the API token, the history database and its CSV files,
    so it is created with mode 0700, and an existing one of ours that others may enter is narrowed to
    it (with a warning). A path that cannot be a directory (a file is in the way, no permission, a
    read-only disk) raises :class:`DataDirError` with a one-line reason for the commands to show.
    """
    if cli_value is not None and str(cli_value) != "":
        chosen = Path(cli_value).expanduser()
    elif config is not None and config.data_dir is not None:
        chosen = config.data_dir.expanduser()
    else:
        import platformdirs  # only when no directory was given (saves its import on a Pi)

        chosen = Path(platformdirs.user_data_dir("ecotrack", appauthor=False))
    try:
        chosen.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = chosen.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            _log.warning(
                "data directory %s was open to other users (mode %o); setting it to 0700",
                chosen,
                stat.S_IMODE(info.st_mode),
            )
            chosen.chmod(0o700)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        if isinstance(e, FileExistsError | NotADirectoryError):
            reason = "a file is in the way (it must be a directory)"
        raise DataDirError(f"cannot use the data directory {chosen}: {reason}") from None
    if not os.access(chosen, os.W_OK | os.X_OK):
        raise DataDirError(f"cannot use the data directory {chosen}: it is not writable by this user")
    return chosen


def config_json_schema(registry: DriverRegistry | None = None) -> dict[str, Any]:
    """JSON Schema of the configuration file (for ``ecotrack config schema`` and editors).

    Lists every meter and charger type of ``registry`` (default: the built-in ones).
    """
    schema = config_model(registry).model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
