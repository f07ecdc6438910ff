/**
 * What the panel, the Environment view and the status item share: the environments, the badge
 * each one earned, how they are grouped and ordered.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { api, IEnvironment, IReport } from './api';

/**
 * A badge. `unchecked`: nothing was checked yet (never green); `not-checked`: a check or audit
 * ran but could not look at everything (no advisory data, a source unavailable): never green
 * either. `broken` and `unsupported` come from discovery: such an environment cannot start.
 */
export type Badge = 'unchecked' | 'ok' | 'warning' | 'error' | 'not-checked' | 'broken' | 'unsupported';

/** What a badge says in words (its tooltip, and for screen readers). */
export const BADGE_TEXT: { [key in Badge]: string } = {
  unchecked: 'unchecked',
  ok: 'ok',
  warning: 'warning',
  error: 'error',
  'not-checked': 'not checked',
  broken: 'broken',
  unsupported: 'unsupported'
};

export const BADGE_HELP: { [key in Badge]: string } = {
  unchecked: 'No check has run on this environment yet',
  ok: 'The last check found nothing to report',
  warning: 'The last check found a warning',
  error: 'The last check found an error or a known vulnerability',
  'not-checked': 'The last check could not look at everything (e.g. no advisory data)',
  broken: 'This environment cannot start a kernel',
  unsupported: 'envkernels cannot start a kernel on this interpreter'
};

/**
 * The badge an environment earns: discovery's own status first (`broken`, `unsupported`), then
 * what this page's last check and audit said, else the server's kept verdict. An audit that left
 * anything unchecked (`checked: false`) earns `not-checked`, never `ok`.
 */
export function badgeOf(env: IEnvironment, check?: IReport | null, audit?: IReport | null): Badge {
  if (env.status === 'broken' || env.status === 'unsupported') {
    return env.status;
  }
  if (!check && !audit) {
    switch (env.verdict) {
      case 'ok':
      case 'warning':
      case 'error':
      case 'not-checked':
        return env.verdict;
      default:
        return 'unchecked';
    }
  }
  // An audit's own findings (an advisory source that could not be reached) are not the
  // environment's fault: they make the audit `checked: false`, shown as `not-checked`.
  const findings = check?.findings ?? [];
  if ((audit?.vulnerabilities ?? []).length > 0 || findings.some(f => f.severity === 'error')) {
    return 'error';
  }
  if (findings.some(f => f.severity === 'warning')) {
    return 'warning';
  }
  if (audit && audit.checked === false) {
    return 'not-checked';
  }
  if (!check) {
    // a clean audit alone is no all-clear: what the server knew, else unchecked
    return env.verdict && env.verdict !== 'unchecked' ? env.verdict : 'unchecked';
  }
  return 'ok';
}

/** Compare version-like strings naturally: 3.6 < 3.10, "3.12.1" < "3.12.10". */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) {
      return -1;
    }
    if (y === undefined) {
      return 1;
    }
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) {
        return d;
      }
    } else if (x !== y) {
      return x.localeCompare(y);
    }
  }
  return 0;
}

/** The panel's groups, in their order. */
export const GROUPS = [
  { id: 'projects', label: "This folder's projects" },
  { id: 'tools', label: 'Tool-managed environments' },
  { id: 'interpreters', label: 'Interpreters' }
] as const;
export type GroupId = (typeof GROUPS)[number]['id'];

/** Interpreters (pyenv versions, the system's Python) as opposed to environments a tool made. */
const INTERPRETER_KINDS = new Set(['pyenv', 'system']);

/** Which group an environment belongs to: a project under the server root, a tool's, an interpreter. */
export function groupOf(env: IEnvironment): GroupId {
  if (env.project_path) {
    return 'projects';
  }
  return INTERPRETER_KINDS.has(env.kind) ? 'interpreters' : 'tools';
}

/** The order within a group: projects by path, then name; Python versions naturally, newest first. */
export function compareEnvs(a: IEnvironment, b: IEnvironment): number {
  if (a.project_path && b.project_path && a.project_path !== b.project_path) {
    return naturalCompare(a.project_path, b.project_path);
  }
  const byName = naturalCompare(a.name.toLowerCase(), b.name.toLowerCase());
  if (byName !== 0) {
    return byName;
  }
  return naturalCompare(b.python_version ?? '', a.python_version ?? '');
}

export class EnvironmentsModel {
  private _envs: IEnvironment[] = [];
  private _checks = new Map<string, IReport>();
  private _audits = new Map<string, IReport>();
  private _changed = new Signal<this, void>(this);
  private _error: string | null = null;
  private _loaded = false;

  /** Fired when the list, a badge or the error changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get environments(): IEnvironment[] {
    return this._envs;
  }

  /** True once the server answered (the panel says "Loading…" before). */
  get loaded(): boolean {
    return this._loaded;
  }

  get error(): string | null {
    return this._error;
  }

  byId(id: string): IEnvironment | undefined {
    return this._envs.find(e => e.id === id);
  }

  byKernelName(name: string): IEnvironment | undefined {
    return this._envs.find(e => e.kernel_name === name);
  }

  /** Load the list (`rescan`: POST refresh, so the server rescans and its kernelspecs follow). */
  async load(rescan = false): Promise<void> {
    try {
      const envs = rescan ? await api.refresh() : await api.list();
      // benchmarks/bench_panel.py measures from here to the panel's first paint
      performance.mark('envkernels:listed');
      this.setEnvironments(envs);
    } catch (error) {
      this._error = (error as Error).message;
      this._loaded = true;
      this._changed.emit();
    }
  }

  /** Take a listing the server sent (also how the benchmark feeds 200 environments). */
  setEnvironments(envs: IEnvironment[]): void {
    this._envs = [...envs].sort(compareEnvs);
    this._error = null;
    this._loaded = true;
    this._changed.emit();
  }

  /** Tell the views to redraw (e.g. kernelspec logos arrived). */
  notify(): void {
    this._changed.emit();
  }

  setCheck(id: string, report: IReport): void {
    this._checks.set(id, report);
    this._changed.emit();
  }

  setAudit(id: string, report: IReport): void {
    this._audits.set(id, report);
    this._changed.emit();
  }

  lastCheck(id: string): IReport | undefined {
    return this._checks.get(id);
  }

  lastAudit(id: string): IReport | undefined {
    return this._audits.get(id);
  }

  /** The badge of an environment from what its last check and audit said. */
  badge(env: IEnvironment): Badge {
    return badgeOf(env, this._checks.get(env.id), this._audits.get(env.id));
  }
}
