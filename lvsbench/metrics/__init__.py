"""lvsbench metrics: official-exact per-frame J/F, DAVIS statistics, A2D/JHMDB referring metrics and streaming
accumulators. Definitions, the code each one reproduces, and deviations: docs/metrics.md.

Import from the modules (`accumulate`, `functional`, `referring`, `statistics`, ...): importing this package imports
none of them, so a light module (e.g. `lvsbench.metrics.statistics` for the CLI's option choices) does not import
pandas, OpenCV and pycocotools.
"""
