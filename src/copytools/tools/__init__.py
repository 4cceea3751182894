"""Copytools: one module per tool, with the pilot's module and function names."""
