"""The postkin plugin's options in mkdocs.yml, as MkDocs' own config options, made from postkin's one
settings schema (`postkin.settings.Settings`): every setting the MkDocs plugin reads is an option,
validated by the schema's own check; `enabled`, `scope` and `placement` are the plugin's own.

    plugins:
      - blog
      - postkin:
          scope: blog            # blog | docs | all
          placement: content     # content (after the page's content) | sidebar (below the table of contents)
          related_k: 5

A misspelt or misplaced key is a configuration error naming the key and mkdocs.yml (MkDocs itself only
warns about unknown plugin options), so a typo never silently does nothing.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import BaseConfigOption, Config, ValidationError

from ...dialects.mkdocs import SCOPES
from ...errors import SettingsError
from ...settings import Settings

HOST = "mkdocs"
OWN_OPTIONS = ("enabled", "scope", "placement")
PLACEMENTS = ("content", "sidebar")


class SettingOption(BaseConfigOption[Any]):
    """One postkin setting as an MkDocs option: None (the default) means not given."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.default = None
        self.check = {f.name: f for f in dataclasses.fields(Settings)}[name].metadata["check"]

    def run_validation(self, value: object) -> Any:
        if value is None:
            return None
        expected = self.check(self.name, value)
        if expected:
            raise ValidationError(f"must be {expected}, got {value!r}")
        return value


def source_of(config_file_path: str | None) -> str:
    """How messages name the settings: 'mkdocs.yml plugins.postkin' (the file as MkDocs was given it)."""
    return f"{config_file_path or 'mkdocs.yml'} plugins.postkin"


class PostkinConfigBase(Config):
    """The plugin's own options, and what it does beyond MkDocs' checks of each option: unknown keys are
    errors, and the given settings are validated together (`settings`: the resulting Settings)."""

    enabled = c.Type(bool, default=True)
    scope = c.Choice(SCOPES, default="blog")
    placement = c.Choice(PLACEMENTS, default="content")  # where the block goes on a page (plugin.py)
    settings: Settings

    def validate(self) -> tuple[list[tuple[str, Exception]], list[tuple[str, str]]]:
        failed, warnings = super().validate()
        source = source_of(self.config_file_path)
        kept = []
        for key, message in warnings:
            if key in self._schema_keys:
                kept.append((key, message))
            else:
                failed.append((key, ValidationError(_unknown(key, self[key], source))))
        if not failed:
            given = {k: self[k] for k in self._schema_keys if k not in OWN_OPTIONS and self[k] is not None}
            base = Path(self.config_file_path).resolve().parent if self.config_file_path else Path.cwd()
            try:
                self.settings = Settings.from_mapping(given, source, host=HOST, base_dir=base)
            except SettingsError as exc:  # settings that do nothing together: named by the message
                named = re.search(r"setting '(\w+)'", str(exc))
                failed.append((named.group(1) if named else "postkin", ValidationError(str(exc))))
        return failed, kept


def _unknown(key: str, value: Any, source: str) -> str:
    """The message for a key the plugin does not read: a typo of an option, or a setting another host reads."""
    close = difflib.get_close_matches(key, OWN_OPTIONS, n=1)
    if close:
        return f"{source}: unknown option '{key}' (did you mean '{close[0]}'?)"
    try:
        Settings.from_mapping({key: value}, source, host=HOST)
    except SettingsError as exc:
        return str(exc)
    return f"{source}: unknown option '{key}'"  # pragma: no cover - every other key is a setting of another host


def _config_class() -> type[PostkinConfigBase]:
    options: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if HOST in f.metadata["hosts"]:
            options[f.name] = SettingOption(f.name)
    return type("PostkinConfig", (PostkinConfigBase,), options)


PostkinConfig = _config_class()
