"""lvsbench: loaders, hard-split builder, official-exact metrics and model harness for language-guided video
segmentation (referring video object segmentation)."""

__version__ = "0.1.0"
