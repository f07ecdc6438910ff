"""One reader per lockfile format; each turns text into a :class:`~envkernels.lockfiles.model.Lock`."""
