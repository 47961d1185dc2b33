"""Running a model on a dataset: options, units, feed, post-processing, the run loop, run directories (run.json,
log, parts, merge), scale-out. The prediction writers live beside their readers in `lvsbench.formats`."""
