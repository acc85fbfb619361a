"""Helpers referenced from config files."""
