"""AISBench kit for the twin: the ``ais_bench`` source tarball and a generated TextVQA-style dataset.

See ``kit.py``; the package that goes into the tarball lives in ``payload/``.
"""
