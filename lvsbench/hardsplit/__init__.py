"""`lvsbench build-hard-split`: the A2D-S+ benchmark of Locater (Liang et al., TPAMI 2023), rebuilt.

No A2D-S+ files or construction code are public, so the pipeline is rebuilt from the paper's description and
documented in `docs/hard-split.md`: SRL over every A2D test query (`srl/`), cleaning and lemmatisation
(`clean.py`, `lemmatize.py`), contrasting-partner sampling (`pairs.py`), human review (`review.py`), and composition
of the multi-actor, spatial and temporal subsets (`compose.py`), orchestrated by `build.py`.
"""
