"""Settings of the reader signals: reader_logs takes a pattern or a list, relative to the settings file;
the settings about what the logs give are refused without logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from postkin.errors import SettingsError
from postkin.settings import Settings, load_settings


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


def test_reader_logs_is_a_pattern_or_a_list_relative_to_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "postkin.toml"
    config.write_text('reader_logs = "logs/access.log*"\nrelated_coview = 0.5\nrecommend_for_you = true\n')
    settings, _ = load_settings(config)
    assert settings.reader_logs == (str(tmp_path / "logs" / "access.log*"),)
    assert (settings.related_coview, settings.recommend_for_you) == (0.5, True)
    config.write_text('reader_logs = ["/var/log/nginx/access.log*", "ga4.csv"]\n')
    assert load_settings(config)[0].reader_logs == ("/var/log/nginx/access.log*", str(tmp_path / "ga4.csv"))
    assert Settings().reader_logs is None and Settings().related_coview == 1.0


@pytest.mark.parametrize("values, expected", [
    ({"reader_logs": 3}, "setting 'reader_logs' must be a file or glob pattern, or a list of them, got 3"),
    ({"reader_logs": []}, "setting 'reader_logs' must be a file or glob pattern, or a list of them, got []"),
    ({"related_coview": -1}, "setting 'related_coview' must be a number of at least 0, got -1"),
])
def test_bad_reader_settings_name_the_key(values, expected) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_mapping(values, "postkin.toml")
    assert str(error.value) == f"postkin.toml: {expected}"
