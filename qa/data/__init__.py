"""Small data files the service reads at run time (see SOURCE.md)."""
