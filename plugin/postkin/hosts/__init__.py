"""Hosts: the thin layers that turn a site generator's (or a tool's) objects into postkin's Corpus and
postkin's results back into what that host's templates read. No host re-implements a pipeline stage."""
