"""Parcours: the unified regional information system of a Moroccan GST."""

__version__ = "0.1.0"
