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
  IChange,
  IReport as ICheckReport,
  IDiff,
  IDiffRow,
  IDiffSide,
  IEnvironment as IEnvironmentRecord,
  IFinding,
  IInputProblem,
  ILicense,
  ILockGap,
  ILockSummary,
  IPackageNode,
  IPackageOrigin,
  IPlan,
  IRequirement,
  ISkipped,
  ISyncOutcome,
  ITree as ITreeRecord,
  IVulnerability,
  IWhyPaths
} from './schema';

export type {
  IAuditReport,
  IChange,
  ICheckReport,
  IDiff,
  IDiffRow,
  IDiffSide,
  IFinding,
  IInputProblem,
  ILicense,
  ILockGap,
  ILockSummary,
  IPackageNode,
  IPackageOrigin,
  IPlan,
  IRequirement,
  ISkipped,
  ISyncOutcome,
  IVulnerability,
  IWhyPaths
};

/** A package that is not a plain index download (a local directory, VCS, a URL, a build). */
export type ISource = IPackageOrigin;

/** The environment record of docs/reference.md (plus `project_path`, relative to the server root). */
export interface IEnvironment extends IEnvironmentRecord {
  project_path?: string | null;
  /** The server's last verdict on it, kept across restarts (docs/reference.md); absent on older servers. */
  verdict?: Verdict;
  /** When that verdict was reached (ISO 8601, UTC); null while unchecked. */
  verdict_at?: string | null;
  /** Packages changed since that verdict; the server is re-checking it in the background. */
  verdict_stale?: boolean;
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

/** The dependency tree (`GET .../tree`); its environment record carries `project_path`. */
export interface ITree extends ITreeRecord {
  environment: IEnvironment;
}

/** `POST .../sync`: the plan (a dry run) or what an applied sync did, with its text. */
export interface ISyncAnswer extends Partial<Omit<ISyncOutcome, 'plan'>> {
  dry_run: boolean;
  plan: IPlan;
  text: string;
  /** Direct sources the server's policy refuses (a dry run). */
  refused?: IPackageOrigin[];
}

/** `POST .../lock`: the written lock, with its path relative to the server root. */
export interface ILockAnswer extends ILockSummary {
  relative_path?: string | null;
}

/** `POST .../fork` (201): the shared source, the personal environment made from its lock, the kernel. */
export interface IForkAnswer {
  source: IEnvironment;
  environment: IEnvironment;
  lock: string;
  kernelspec: string | null;
  kernel_note?: string | null;
  warnings?: string[] | null;
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
  /** Without `dest` the server forks into the user's forks directory (docs/reference.md). */
  fork: (id: string) => post<IForkAnswer>(['environments', id, 'fork'], {}),
  tree: (id: string, why?: string) =>
    request<ITree>(['environments', id, 'tree'], {}, why ? { why } : {}),
  diffEnv: (id: string, other: string) => request<IDiff>(['environments', id, 'diff'], {}, { other }),
  diffLock: (id: string, lock: string) => request<IDiff>(['environments', id, 'diff'], {}, { lock })
};
