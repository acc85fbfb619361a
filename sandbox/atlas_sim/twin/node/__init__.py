"""Node-side files of the twin; atlas_twin is importable from here for host-side rendering."""
