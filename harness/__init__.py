"""harness: reproduce and extend SLAM (arXiv 2501.03681) from declarative recipes."""

__version__ = "0.1.0"
