/**
 * The REST client for `<base_url>envkernels/api/`: typed records and one function per endpoint.
 *
 * Requests go through ServerConnection, so the server's token and XSRF cookie are sent the
 * way every JupyterLab request sends them. Errors come back as `{message, hint, reason}`
 * and are raised as EnvKernelsApiError.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

// The result records are generated from the result model's JSON Schema (schema.ts).
import type {
  IAuditReport,
  IReport as ICheckReport,
  IEnvironment as IEnvironmentRecord,
  IFinding,
  IInputProblem,
  ILicense,
  ISkipped,
  IVulnerability
} from './schema';

export type {
  IAuditReport,
  ICheckReport,
  IFinding,
  IInputProblem,
  ILicense,
  ISkipped,
  IVulnerability
};

/** The environment record of docs/reference.md (plus `project_path`, relative to the server root). */
export interface IEnvironment extends IEnvironmentRecord {
  project_path?: string | null;
  /** The server's last verdict on it, kept across restarts (docs/reference.md); absent on older servers. */
  verdict?: Verdict;
  /** When that verdict was reached (ISO 8601, UTC); null while unchecked. */
  verdict_at?: string | null;
}

/** The server's last word on an environment: `unchecked` until a check ran. */
export type Verdict = 'unchecked' | 'ok' | 'warning' | 'error' | 'not-checked';

/**
 * A check (`IReport` of schema.ts) or an audit (`IAuditReport`): what the views draw of either.
 * Audits: `checked` is false when a package (or the whole source) could not be checked.
 */
export type IReport = Pick<ICheckReport, 'environment' | 'findings'> &
  Partial<Omit<ICheckReport, 'environment' | 'findings'>> &
  Partial<Omit<IAuditReport, 'environment' | 'findings'>>;

export interface IRequirement {
  name: string;
  specifier: string;
  extra: string | null;
  installed: string | null;
  satisfied: boolean;
}

export interface IPackageNode {
  name: string;
  version: string;
  summary: string | null;
  requires: IRequirement[];
  required_by: string[];
}

export interface ITree {
  environment: IEnvironment;
  packages: IPackageNode[];
  roots: string[];
  why?: { package: string; paths: string[][] };
}

export interface IDiffRow {
  name: string;
  left: string | null;
  right: string | null;
  status: 'same' | 'changed' | 'only-left' | 'only-right';
}

export interface IDiff {
  left: { [key: string]: string };
  right: { [key: string]: string };
  rows: IDiffRow[];
  summary: { [status: string]: number };
}

export interface IChange {
  name: string;
  [key: string]: unknown;
}

/** A package that is not a plain index download (a local directory, VCS, a URL, a build). */
export interface ISource {
  name: string;
  kind: string;
  where: string;
}

export interface ISyncAnswer {
  dry_run: boolean;
  plan: {
    install: IChange[];
    upgrade: IChange[];
    downgrade: IChange[];
    reinstall: IChange[];
    remove: IChange[];
    unchanged: number;
    is_empty: boolean;
    warnings: string[];
    sources?: ISource[];
  };
  text: string;
  refused?: ISource[];
  applied?: boolean;
  restart_needed?: string[];
}

export interface ILockAnswer {
  path: string | null;
  relative_path?: string | null;
  packages: number;
  warnings: string[];
  [key: string]: unknown;
}

/** An error answer of the envkernels API (or a network failure). */
export class EnvKernelsApiError extends Error {
  constructor(
    message: string,
    readonly hint: string | null,
    readonly reason: string | null,
    readonly status: number
  ) {
    super(message);
  }
}

const settings = ServerConnection.makeSettings();

async function request<T>(
  path: string[],
  init: RequestInit = {},
  query: { [key: string]: string } = {}
): Promise<T> {
  let url = URLExt.join(settings.baseUrl, 'envkernels', 'api', ...path.map(encodeURIComponent));
  const params = new URLSearchParams(query).toString();
  if (params) {
    url += '?' + params;
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new EnvKernelsApiError(String(error), 'is the Jupyter server running?', 'network', 0);
  }
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new EnvKernelsApiError(
      (data && data.message) || response.statusText || `HTTP ${response.status}`,
      (data && data.hint) || null,
      (data && data.reason) || null,
      response.status
    );
  }
  return data as T;
}

function post<T>(path: string[], body: unknown): Promise<T> {
  return request<T>(path, { method: 'POST', body: JSON.stringify(body) });
}

export const api = {
  list: () => request<IEnvironment[]>(['environments']),
  refresh: () => post<IEnvironment[]>(['environments', 'refresh'], {}),
  get: (id: string) => request<IEnvironment>(['environments', id]),
  check: (id: string, notebook?: string) =>
    request<ICheckReport>(['environments', id, 'check'], {}, notebook ? { notebook } : {}),
  audit: (id: string) => request<IAuditReport>(['environments', id, 'audit']),
  lock: (id: string, path: string) => post<ILockAnswer>(['environments', id, 'lock'], { path }),
  sync: (id: string, lock: string, dryRun: boolean) =>
    post<ISyncAnswer>(['environments', id, 'sync'], { lock, dry_run: dryRun }),
  tree: (id: string, why?: string) =>
    request<ITree>(['environments', id, 'tree'], {}, why ? { why } : {}),
  diffEnv: (id: string, other: string) => request<IDiff>(['environments', id, 'diff'], {}, { other }),
  diffLock: (id: string, lock: string) => request<IDiff>(['environments', id, 'diff'], {}, { lock })
};
