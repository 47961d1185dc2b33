"""Core: errors, atomic io, typed records, codecs, ids, text files, options; imports nothing else of lvsbench."""
