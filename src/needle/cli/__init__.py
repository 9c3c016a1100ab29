"""The ``needle`` command: one module per verb, registered in ``needle.cli.main``.

The CLI parses options, calls the stage packages, and prints; it holds no stage logic.
"""
