"""Typed, validated settings. The names other layers use, in one place."""

from provisioner.config.checks import parse_duration
from provisioner.config.loading import CONFIG_ENV, MAX_CONFIG_BYTES, find_config, load, validate
from provisioner.config.schema import GitHub, Production, Settings

__all__ = ["CONFIG_ENV", "MAX_CONFIG_BYTES", "GitHub", "Production", "Settings", "find_config", "load",
           "parse_duration", "validate"]
