"""Runner, model client, dataset and evaluator of the kit."""

__version__ = "0.1.0"
