"""Editing other programs' config files safely: the careful editor and one core per file format."""
