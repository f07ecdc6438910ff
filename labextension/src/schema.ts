/**
 * The result model's JSON types, generated from docs/schema/results.schema.json by
 * `python -m envkernels.model.schema --write`: do not edit (tests/test_result_schema.py
 * fails when this file is not what the model gives).
 */

/** `audit`'s answer: findings plus the vulnerabilities (each once, with its fix) and licenses. */
export interface IAuditReport {
  environment: IEnvironment;
  findings: IFinding[];
  vulnerabilities: IVulnerability[];
  licenses?: ILicense[];
  skipped: ISkipped[];
  advisory_source: string;
  checked: boolean;
}

/** One package a sync changes: `old` is None for an install, `new` None for a removal. */
export interface IChange {
  name: string;
  from: string | null;
  to: string | null;
}

/** Two package sets side by side, one row per distribution by name; `summary` counts the statuses. */
export interface IDiff {
  left: IDiffSide;
  right: IDiffSide;
  rows: IDiffRow[];
  summary: { [key: string]: number };
}

/** One distribution (PEP 503 name) on both sides: its versions (None: absent) and the verdict. */
export interface IDiffRow {
  name: string;
  left: string | null;
  right: string | null;
  status: 'same' | 'changed' | 'only-left' | 'only-right';
}

/** One side of a diff: an environment (`id`, `name`, `prefix`) or a lock (`path`, `format`). */
export interface IDiffSide {
  type: 'environment' | 'lock';
  id?: string;
  name?: string;
  prefix?: string;
  path?: string;
  format?: string;
}

/** One Python environment, as discovery found it on disk (docs/reference.md: the environment record). */
export interface IEnvironment {
  id: string;
  kind: 'venv' | 'uv' | 'poetry' | 'pdm' | 'hatch' | 'pipenv' | 'conda' | 'pixi' | 'pyenv' | 'system' | 'lockfile';
  name: string;
  prefix: string;
  python: string | null;
  python_version: string | null;
  implementation: string;
  free_threaded: boolean;
  project: string | null;
  lockfiles: string[];
  has_ipykernel: boolean;
  kernel_name: string;
  status: 'ok' | 'broken' | 'unsupported';
  problem: string | null;
  hint: string | null;
  shared: boolean;
}

/** `%envs`: the environments found, the kernel's own prefix (`current`) and its packages. */
export interface IEnvironmentList {
  environments: IEnvironment[];
  current: string | null;
  packages: IInstalledPackage[];
}

/** One thing `check`, `audit` or `doctor` has to say: docs/reference.md's finding. */
export interface IFinding {
  code: string;
  severity: 'error' | 'warning' | 'info';
  package: string | null;
  message: string;
  hint: string | null;
  vulnerability: string | null;
}

/** A file of the user's that `check` could not read: `path` (`line` where known), why, the fix. */
export interface IInputProblem {
  path: string;
  message: string;
  hint: string | null;
  line: number | null;
}

/** A distribution installed in an environment (`%envs` lists the kernel's own). */
export interface IInstalledPackage {
  name: string;
  version: string;
  summary: string | null;
  installer: string | null;
  editable: boolean;
  problem: string | null;
}

/** A distribution's license and the policy's verdict (`audit --licenses`). */
export interface ILicense {
  package: string;
  version: string;
  license: string | null;
  status: 'allowed' | 'denied' | 'unknown';
}

/** A locked package the lock cannot give back in full (no URL and hash, or not reproducible), and why. */
export interface ILockGap {
  name: string;
  version: string | null;
  reason: string;
}

/** A written lock: where it went (`path`, `notebook`), its text, and what it cannot give back. */
export interface ILockSummary {
  path: string | null;
  notebook: string | null;
  text: string;
  packages: number;
  missing: ILockGap[];
  not_reproducible: ILockGap[];
  project_lock: string | null;
  project_lock_agrees: boolean | null;
  project_lock_differences: string[];
  backup: string | null;
  index: string | null;
  warnings: string[];
}

/** An installed distribution in the tree: what it requires and who requires it. */
export interface IPackageNode {
  name: string;
  version: string;
  summary: string | null;
  requires: IRequirement[];
  required_by: string[];
}

/** A package that is not a plain index download: `kind` (directory, vcs, url, ...) and `where`. */
export interface IPackageOrigin {
  name: string;
  kind: string;
  where: string;
}

/** What a sync would do to `prefix` to match `lock`: the changes by action, in that order. */
export interface IPlan {
  lock: string;
  format: string;
  prefix: string;
  install: IChange[];
  upgrade: IChange[];
  downgrade: IChange[];
  reinstall: IChange[];
  remove: IChange[];
  unchanged: number;
  is_empty: boolean;
  warnings: string[];
  sources: IPackageOrigin[];
}

/** `check`'s answer about one environment: `{"environment", "findings", "input_errors"}`. */
export interface IReport {
  environment: IEnvironment;
  findings: IFinding[];
  input_errors: IInputProblem[];
}

/** One requirement of a package: `name` with `specifier` (`extra` when an extra asked for it), the version installed (None: missing) and whether it satisfies the specifier. */
export interface IRequirement {
  name: string;
  specifier: string;
  extra: string | null;
  installed: string | null;
  satisfied: boolean;
}

/** A package the audit could not check (`reason` says why): "not checked", never "clean". */
export interface ISkipped {
  package: string;
  version: string;
  reason: string;
}

/** An applied sync: `plan` as planned, `done` what changed on disk (read again after uv ran), the snapshot that undoes it, and the loaded modules a kernel must restart for. */
export interface ISyncOutcome {
  plan: IPlan;
  applied: boolean;
  done: IPlan | null;
  changes: IChange[];
  snapshot: string | null;
  history: string | null;
  restart_needed: string[];
  changed_modules: string[];
  seconds: number;
  warnings: string[];
}

/** What pulls in what in an environment (`roots`: what nothing requires); `why` when asked. */
export interface ITree {
  environment: IEnvironment;
  packages: IPackageNode[];
  roots: string[];
  why?: IWhyPaths;
}

/** One known vulnerability of one installed (or locked) `package` at `version`. */
export interface IVulnerability {
  package: string;
  version: string;
  id: string;
  aliases: string[];
  summary: string;
  fixed_in: string[];
  source: string;
  severity: string | null;
  url: string | null;
  fix: string | null;
}

/** Why `package` is installed: the chains `[root, ..., package]` that pull it in. */
export interface IWhyPaths {
  package: string;
  paths: string[][];
}
