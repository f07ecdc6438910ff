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

/** A distribution's license and the policy's verdict (`audit --licenses`). */
export interface ILicense {
  package: string;
  version: string;
  license: string | null;
  status: 'allowed' | 'denied' | 'unknown';
}

/** `check`'s answer about one environment: `{"environment", "findings", "input_errors"}`. */
export interface IReport {
  environment: IEnvironment;
  findings: IFinding[];
  input_errors: IInputProblem[];
}

/** A package the audit could not check (`reason` says why): "not checked", never "clean". */
export interface ISkipped {
  package: string;
  version: string;
  reason: string;
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
