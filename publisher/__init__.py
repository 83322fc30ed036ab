"""publisher: Markdown posts become a website, Facebook Page posts and Instagram posts."""

__version__ = "0.1.0"
