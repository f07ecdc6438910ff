"""The bottom layer: primitives every engine shares, read from files and importing no engine.

- :mod:`~envkernels.core.layout`: where an environment prefix keeps its interpreter and site-packages,
  names (PEP 503 normalization, slugs, ids, kernel names);
- :mod:`~envkernels.core.facts`: which Python a prefix holds, read from its files;
- :mod:`~envkernels.core.distributions`: the installed distributions of a prefix and their metadata;
- :mod:`~envkernels.core.stamps`: ``(path, mtime, size, inode)`` stamps that say a file is still the one read;
- :mod:`~envkernels.core.atomic`: writing the user's files safely (atomic replace, backups, one writer);
- :mod:`~envkernels.core.requirements_file`: the requirements-file parser (pip's rules);
- :mod:`~envkernels.core.records`: who and when, for the records envkernels keeps.

Only the leaf modules next to the package (``errors``, ``cachedir``, ``limits``, ``_toml``,
``_subprocess``, ``uvbin``, ``_version``) sit below it. docs/architecture.md has the layer diagram.
"""
