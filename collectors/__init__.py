"""Collectors: what runs beside the apps and feeds the logger."""
