"""Audit: known vulnerabilities (OSV, online or offline) and licenses of an environment or a lockfile.

Entry points live in :mod:`envkernels.audit.run` (``audit_environment``, ``audit_lockfile``,
``package_fixes``, ``sbom_for``); configuration in :mod:`envkernels.audit.policy` (``AuditConfig``).
Nothing is imported here, so ``import envkernels.audit`` stays cheap. See docs/audit.md.
"""
