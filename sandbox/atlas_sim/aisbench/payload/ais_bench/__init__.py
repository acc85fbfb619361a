"""AISBench-compatible benchmark runner (accuracy mode, TextVQA)."""
