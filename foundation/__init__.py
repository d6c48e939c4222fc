"""Foundations below the logger, metrics and controller: the root of the
exception tree, the environment readers and the settings declarations.

It imports no other package of this project, so every package may import it.
"""
