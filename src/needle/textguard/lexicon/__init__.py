"""The text guard's lexicon as data: one TOML file per language (``en.toml`` documents the
format), plus ``coded.toml`` and ``emoji.toml``. :mod:`needle.textguard.terms` loads and
compiles them; this package holds no code.
"""
