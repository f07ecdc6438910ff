"""Kernels: every discovered environment offered to Jupyter as a kernel, and the kernels' upkeep.

Owns the kernelspec of an environment (``spec``, ``activation``), the kernel spec manager jupyter_server
and other Jupyter clients use (``manager``, ``clients``, ``coexist``, ``papermill_engine``), the
provisioner that prepares an environment before a launch (``provisioner``, ``overlay``, ``prepare``),
portable kernel names (``resolve``), kernelspecs on disk (``installed``, ``hidden``), and the
maintenance commands (``doctor``, ``cleanup``, ``trash``, ``running``). Sits above discovery; sync
uses it to install a new environment's kernelspec (docs/architecture.md).
"""
