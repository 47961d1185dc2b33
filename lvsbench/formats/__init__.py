"""Prediction formats of the 2023-2026 codebases that `lvsbench.predictions` does not cover: Sa2VA's per-expression
RLE results JSON (`rle_results`) and raw-value PNG reading for evaluators that never binarise (`raw_png`)."""
