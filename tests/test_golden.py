"""Golden outputs: a small blog built with the fake encoder gives exactly the checked-in JSON, which
also validates against the published schema (plugin/postkin/schema/postkin.schema.json).

After an intended change of the outputs, regenerate with `POSTKIN_UPDATE_GOLDEN=1 pytest tests/test_golden.py`
and review the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_post

from postkin.cli import main

GOLDEN = Path(__file__).parent / "golden" / "blog"
SCHEMA = Path(__file__).resolve().parents[1] / "plugin" / "postkin" / "schema" / "postkin.schema.json"

POSTS = {
    "2024-01-03-vacuum.md": ('title: "Tuning autovacuum"\ntags: [postgresql, databases]\nviews: 1200\n'
                             'lang: en\ntranslationKey: vacuum',
                             "Dead tuples and bloat.\n\n## vacuum\n\npostgresql vacuum autovacuum bloat tuples\n"),
    "2024-01-05-indexes.md": ('title: "Partial indexes"\ntags: [postgresql]\nviews: "2,400"',
                              "See [vacuum](/2024/01/03/vacuum/).\n\npostgresql index planner partial\n"),
    "2024-02-01-explain.md": ('title: "Reading EXPLAIN ANALYZE"\ntags: [postgresql, performance]',
                              "postgresql planner explain analyze rows loops\n"),
    "2024-02-10-grid.md": ('title: "CSS grid areas"\ntags: [css, frontend]\nviews: 300',
                           "css grid template areas layout frontend\n"),
    "2024-03-01-has.md": ('title: "The :has() selector"\ntags: [CSS]',
                          "css has selector parent frontend layout\n"),
    "2024-03-02-draft.md": ('title: "Container queries"\ntags: [css]\ndraft: true',
                            "css container queries layout\n"),
    "2024-04-01-wheels.md": ('title: "Python wheels"\ntags: [python, packaging]',
                             "pip wheels python packaging virtualenv\n"),
    "2024-04-09-uv.md": ('title: "Moving to uv"\ntags: [python]\ndescription: "uv replaced pip-tools."',
                         "uv python lock packaging\n"),
    "2024-05-01-ja-vacuum.md": ('title: "autovacuum の調整"\ntags: [postgresql]\nlang: ja\ntranslationKey: vacuum',
                                "PostgreSQL の vacuum と bloat\n"),
    "2024-05-02-hidden.md": ('title: "Old grid notes"\ntags: [css]\nhidden: true', "css grid notes\n"),
    "2099-06-01-scheduled.md": ('title: "Grid <details> & 2*3"\ntags: [css]', "css grid scheduled\n"),
    "no-date.md": ('title: "Notes without a date"\ntags: [performance]', "profiling python performance\n"),
}


def build(tmp_path: Path, fake_encoder) -> Path:
    content = tmp_path / "content"
    for name, (front, body) in POSTS.items():
        write_post(content, name, front, body)
    config = tmp_path / "postkin.toml"
    config.write_text('encoder = "fake"\nrelated_k = 3\ntags_k = 2\nclusters = 3\ncluster_k = 2\n', encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(content), "--out", str(out), "--config", str(config),
                                       "--cache-dir", str(tmp_path / "cache")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*.json"))}


def test_small_blog_gives_the_golden_json(tmp_path, fake_encoder):
    out = build(tmp_path, fake_encoder)
    if os.environ.get("POSTKIN_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN)
    assert files(out) == files(GOLDEN)


def test_outputs_follow_the_published_schema(tmp_path, fake_encoder):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (pip install 'postkin[test]')")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    out = build(tmp_path, fake_encoder)
    site = json.loads((out / "postkin.json").read_text(encoding="utf-8"))
    jsonschema.validate(site, schema)
    post_schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/PostContext"}
    for path in sorted((out / "posts").glob("*.json")):
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), post_schema)
    # the schema is strict: an unknown key is refused
    site["posts"]["vacuum"]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(site, schema)


def test_the_schema_ships_with_the_package():
    from importlib.resources import files as package_files

    assert json.loads(package_files("postkin").joinpath("schema/postkin.schema.json").read_text())["title"] == "postkin.json"
