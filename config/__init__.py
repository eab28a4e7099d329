"""Kiosk configuration: one YAML file per kiosk, parsed once into frozen typed objects."""

from config.loader import ConfigError, config_from_data, load_config
from config.model import KioskConfig
from config.schema import Problem

__all__ = ["ConfigError", "KioskConfig", "Problem", "config_from_data", "load_config"]
