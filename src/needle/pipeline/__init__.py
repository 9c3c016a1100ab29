"""Running stages over many files: worker processes, batching, resumable jobs, progress.

Holds no stage logic: it calls ``needle.media``, ``needle.signals``, ``needle.match`` and
``needle.store`` in that order.
"""
