"""Entry points that run postkin from other tools: the pre-commit hook."""
