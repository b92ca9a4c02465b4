"""The settings, as the CLI and the dev stack have always imported them; they live in
``config/settings.py`` so that activities and the API read them without importing this package."""

from config.settings import DEFAULT_HOME, Settings, get_settings

__all__ = ["DEFAULT_HOME", "Settings", "get_settings"]
