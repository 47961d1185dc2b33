"""Prediction formats: readers and writers of every format lvsbench accepts or writes (PNG tree, zip, COCO RLE json,
Ref-DAVIS palettes, per-expression RLE json), server submissions, and raw-value PNG reading."""
