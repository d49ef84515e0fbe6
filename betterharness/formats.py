"""The format version of every file betterharness writes (run folders, the cache, the latency book).

Bump it when a stored model changes in a way an older reader would misread; ``store/format.py`` says
how each file carries it and what happens to files of another version.
"""

FORMAT_VERSION = 1
FORMAT_KEY = "format_version"
