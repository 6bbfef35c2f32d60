"""The incremental Pelican writer: renders a page again only when something that feeds it changed.

It overrides Pelican internals (`Writer.write_file`, the paginator), so it stands apart from the core
and is tested against the Pelican versions listed in `SUPPORTED_PELICAN`; `check_pelican()` fails
loudly on a Pelican whose writer no longer has the shape it relies on.
"""

from .writer import SUPPORTED_PELICAN, IncrementalWriter, check_pelican

__all__ = ["SUPPORTED_PELICAN", "IncrementalWriter", "check_pelican"]
