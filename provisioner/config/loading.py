"""Reading ``staging.toml``: find the file, parse TOML, validate the dict into ``Settings``.

Loading a file (``load``) is separate from validating a dict (``validate``). Unknown keys are
rejected with the nearest valid name suggested; every error names the file and the dotted key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from provisioner.config.checks import VARIABLE_NAME, secret_source
from provisioner.config.health import parse_health, parse_tests
from provisioner.config.messages import Bad, from_msgspec
from provisioner.config.schema import Settings, _Strict
from provisioner.errors import ConfigError

CONFIG_ENV = "PROVISIONER_CONFIG"
DEFAULT_CONFIG_NAME = "staging.toml"
MAX_CONFIG_BYTES = 1024 * 1024


def _stripped(value: Any) -> Any:
    """Whitespace around every string value (not key) is not meant: strip it, as before."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _stripped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    return value


def _checked(obj: _Strict, where: str) -> _Strict:
    """Run a table's own checks; returns it with the normalized values."""
    changes: dict[str, Any] = {}
    for name, check in type(obj)._checks.items():
        try:
            value = check(getattr(obj, name))
        except ValueError as exc:
            raise Bad(f"{where}.{name}", str(exc)) from None
        if value != getattr(obj, name):
            changes[name] = value
    if changes:
        obj = msgspec.structs.replace(obj, **changes)
    try:
        obj._check()
    except ValueError as exc:
        raise Bad(where, str(exc)) from None
    return obj


def _check_settings(settings: Settings) -> Settings:
    tables = {f.name: _checked(getattr(settings, f.name), f.name) for f in msgspec.structs.fields(Settings)
              if isinstance(getattr(settings, f.name), _Strict)}
    secrets: dict[str, str] = {}
    for name, source in settings.secrets.items():
        if not VARIABLE_NAME.fullmatch(name):
            raise Bad("secrets", f"{name[:60]!r} is not a Terraform variable name")
        try:
            secrets[name] = secret_source(source)
        except ValueError as exc:
            raise Bad(f"secrets.{name}", str(exc)) from None
    data_key = settings.data_key
    if data_key is not None:
        try:
            data_key = secret_source(data_key)
        except ValueError as exc:
            raise Bad("data_key", str(exc)) from None
    return msgspec.structs.replace(settings, **tables, secrets=secrets, data_key=data_key)


def validate(data: dict[str, Any], *, source: str = "<dict>", base_dir: str = ".") -> Settings:
    """Validate a config dict; raises ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(source, "", "the top level must be a table")
    # [health] and [tests] have their own parser (per-kind keys, templates, durations).
    data = dict(data)
    health = parse_health(data.pop("health", {}), source)
    tests = parse_tests(data.pop("tests"), source) if "tests" in data else None
    try:
        try:
            settings = msgspec.convert({**_stripped(data), "base_dir": base_dir, "source": source}, Settings)
        except msgspec.ValidationError as exc:
            raise from_msgspec(exc) from None
        settings = msgspec.structs.replace(_check_settings(settings), health=health, tests=tests)
    except Bad as bad:
        raise ConfigError(source, bad.key, bad.problem, bad.suggestion) from None
    for key in ("root_module", "baseline", "overrides"):
        if not settings.path(getattr(settings.project, key)).exists():
            raise ConfigError(source, f"project.{key}", f"{getattr(settings.project, key)!r} does not exist")
    if settings.engine.command != "embedded":
        cmd = Path(settings.engine_command)
        if not (cmd.is_file() and os.access(cmd, os.X_OK)):
            where = "on PATH" if "/" not in settings.engine.command else f"relative to {base_dir}"
            raise ConfigError(source, "engine.command",
                              f"{settings.engine.command!r} is not an executable terraform/tofu binary "
                              f"({where})")
    return settings


def find_config(explicit: str | None = None, cwd: Path | None = None) -> Path:
    """--config, then $PROVISIONER_CONFIG, then staging.toml here or in a parent directory."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        p = Path(chosen)
        if not p.is_file():
            raise ConfigError(str(p), "", "config file not found")
        return p
    here = (cwd or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / DEFAULT_CONFIG_NAME).is_file():
            return d / DEFAULT_CONFIG_NAME
    raise ConfigError(DEFAULT_CONFIG_NAME, "",
                      f"no {DEFAULT_CONFIG_NAME} in {here} or its parents; pass --config or set {CONFIG_ENV}")


def load(explicit: str | None = None, cwd: Path | None = None) -> Settings:
    path = find_config(explicit, cwd)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(str(path), "", f"file is {size} bytes; a config file is at most "
                                             f"{MAX_CONFIG_BYTES}")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(str(path), "", "not valid TOML: nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None
    return validate(data, source=str(path), base_dir=str(path.parent.resolve()))
