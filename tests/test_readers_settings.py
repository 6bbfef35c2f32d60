"""Settings of the reader signals: reader_logs takes a pattern or a list, relative to the settings file;
the settings about what the logs give are refused without logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from postkin.errors import SettingsError
from postkin.settings import Settings


@pytest.mark.parametrize("key, value", [("related_coview", 2.0), ("reader_log_format", "%h %t \"%r\" %>s")])
def test_reader_settings_without_reader_logs_are_refused(key, value) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_mapping({key: value}, "postkin.toml")
    assert str(error.value) == (f"postkin.toml: setting '{key}' is used only with reader_logs (no logs are read); "
                                "remove it or set reader_logs")
    assert getattr(Settings.from_mapping({key: value, "reader_logs": "/var/log/nginx/access.log*"}, "x"), key) == value


def test_pelican_resolves_reader_logs_with_the_other_paths(tmp_path: Path) -> None:
    pytest.importorskip("pelican")
    from postkin.hosts.pelican import resolve_settings

    (tmp_path / "content").mkdir()
    settings, _ = resolve_settings({"PATH": str(tmp_path / "content"), "POSTKIN": {
        "reader_logs": ["logs/access.log*", "/var/log/nginx/*.gz", "~/exports/ga4.csv"]}})
    assert settings.reader_logs == (str(tmp_path / "logs" / "access.log*"), "/var/log/nginx/*.gz", "~/exports/ga4.csv")
