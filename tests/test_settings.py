"""The settings schema: defaults, validation errors that name key and file, config discovery."""

from __future__ import annotations

import pytest

from postkin.errors import SettingsError
from postkin.settings import Settings, find_config, load_settings


def test_defaults_are_valid():
    s = Settings()
    assert s.embed_fields == ("title", "lede") and s.related_k == 5 and s.encoder == "usem3"


def test_unknown_key_suggests_the_close_one():
    with pytest.raises(SettingsError, match=r"pelicanconf.py: unknown postkin setting 'related_kk' \(did you mean 'related_k'\?\)"):
        Settings.from_mapping({"related_kk": 3}, "pelicanconf.py")


@pytest.mark.parametrize("key, value, expected", [
    ("related_k", -1, "a whole number of at least 0"),
    ("related_k", True, "a whole number"),
    ("clusters", 0, "a whole number of at least 1"),
    ("embed_fields", ["title", "nope"], "a non-empty list"),
    ("strict", "yes", "true or false"),
    ("related_method", "magic", "one of"),
])
def test_bad_values_name_key_source_and_expectation(key, value, expected):
    with pytest.raises(SettingsError, match=f"src: setting '{key}' must be {expected}"):
        Settings.from_mapping({key: value}, "src")


def test_dashes_allowed_and_lists_become_tuples():
    s = Settings.from_mapping({"related-k": 3, "embed_fields": ["title"]}, "x")
    assert s.related_k == 3 and s.embed_fields == ("title",)


def test_pyproject_table_is_found_upwards_and_paths_resolve_relative_to_it(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.postkin]\nrelated_k = 7\ncache_dir = "cachehere"\n')
    content = tmp_path / "blog" / "content"
    content.mkdir(parents=True)
    assert find_config(content) == tmp_path / "pyproject.toml"
    settings, base = load_settings(None, {"tags_k": 2}, search_from=content)
    assert settings.related_k == 7 and settings.tags_k == 2
    assert settings.cache_dir == str(tmp_path / "cachehere") and base == tmp_path


def test_postkin_toml_beats_pyproject_and_errors_name_the_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.postkin]\nrelated_k = 7\n')
    (tmp_path / "postkin.toml").write_text('tags_kk = 1\n')
    with pytest.raises(SettingsError, match=r"postkin.toml: unknown postkin setting 'tags_kk'"):
        load_settings(None, search_from=tmp_path)


def test_broken_toml_is_one_line(tmp_path):
    (tmp_path / "postkin.toml").write_text('related_k = \n')
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(tmp_path / "postkin.toml")


def test_flags_are_validated_too():
    with pytest.raises(SettingsError, match="command line: setting 'related_k'"):
        load_settings(None, {"related_k": -3})


def test_encoder_handle_folder_resolves_against_the_config_file_but_presets_do_not(tmp_path):
    (tmp_path / "models" / "mine").mkdir(parents=True)
    (tmp_path / "postkin.toml").write_text('encoder = "tfhub"\nencoder_handle = "models/mine"\n')
    settings, _ = load_settings(tmp_path / "postkin.toml")
    assert settings.encoder_handle == str(tmp_path / "models" / "mine")
    (tmp_path / "postkin.toml").write_text('encoder = "tfhub"\nencoder_handle = "use-large"\n')
    assert load_settings(tmp_path / "postkin.toml")[0].encoder_handle == "use-large"


def test_a_choice_is_a_choice():
    """`neighbors = "fast"` (a typo) was accepted and ignored."""
    with pytest.raises(SettingsError, match=r"postkin.toml: setting 'neighbors' must be one of \['auto', 'exact'"):
        Settings.from_mapping({"neighbors": "fast"}, "postkin.toml")
    with pytest.raises(SettingsError, match=r"setting 'encoder' must be one of \["):
        Settings.from_mapping({"encoder": "use-large"}, "postkin.toml")


def test_backends_in_the_schema_are_the_registered_ones():
    from postkin import neighbours
    from postkin.settings import NEIGHBOUR_BACKENDS

    assert sorted(NEIGHBOUR_BACKENDS) == sorted(neighbours.backends())


@pytest.mark.parametrize("host, key, value, says", [
    ("cli", "incremental", False, "read only by the Pelican plugin"),
    ("cli", "json_output", "data", "`postkin build` writes them to its --out folder"),
    ("pelican", "url_pattern", "/{slug}/", "Pelican gives every article its URL (ARTICLE_URL)"),
])
def test_keys_a_host_would_ignore_are_refused_by_that_host(host, key, value, says):
    with pytest.raises(SettingsError) as caught:
        Settings.from_mapping({key: value}, "src", host=host)
    message = str(caught.value)
    assert message.startswith(f"src: setting '{key}' is read only by ") and says in message
    assert message.endswith(": remove it here") and "\n" not in message


def test_settings_that_do_nothing_together_are_an_error():
    with pytest.raises(SettingsError, match="'encoder_handle' is used only with encoder = 'tfhub'"):
        load_settings(None, {"encoder_handle": "use-large"})
    assert Settings.from_mapping({"encoder": "tfhub", "encoder_handle": "use-large"}, "x").encoder_handle == "use-large"


def test_one_path_resolver_for_every_host(tmp_path):
    """Pelican resolved json_output but not an encoder_handle folder; the CLI the other way round."""
    pytest.importorskip("pelican")
    from postkin.hosts.pelican import resolve_settings

    (tmp_path / "models" / "mine").mkdir(parents=True)
    (tmp_path / "content").mkdir()
    settings, cache = resolve_settings({"PATH": str(tmp_path / "content"), "POSTKIN": {
        "encoder": "tfhub", "encoder_handle": "models/mine", "json_output": "data", "popularity_file": "v.csv"}})
    assert settings.encoder_handle == str(tmp_path / "models" / "mine")
    assert settings.json_output == str(tmp_path / "data") and settings.popularity_file == str(tmp_path / "v.csv")
    assert cache == tmp_path / ".postkin-cache"


def test_generators_in_the_schema_are_the_dialects():
    from postkin.dialects import GENERATORS as DIALECTS
    from postkin.settings import GENERATORS

    assert GENERATORS == DIALECTS
