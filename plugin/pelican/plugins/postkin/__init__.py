"""postkin for Pelican: related posts, topic clusters and tag suggestions on every article.

Enable with PLUGINS = ["postkin"] (or let Pelican find it) and configure with POSTKIN = {...} in
pelicanconf.py. The work happens in postkin's engine; this package only connects Pelican's signals.
"""

from pelican import signals

from .hooks import build_context, check_settings, finish, writer


def register() -> None:
    """Connect postkin to Pelican's signals."""
    signals.initialized.connect(check_settings)
    signals.all_generators_finalized.connect(build_context)
    signals.get_writer.connect(writer)
    signals.finalized.connect(finish)
