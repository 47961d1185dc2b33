"""Running a model on a dataset: options, units, feed, post-processing, sinks, run directories, scale-out."""
