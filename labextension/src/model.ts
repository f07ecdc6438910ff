/**
 * What the panel and the status item share: the environments, and the badge each one earned
 * from its last check or audit (`ok`, `drift`, `vulnerable`, `broken`).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { api, IEnvironment, IReport } from './api';

export type Badge = 'ok' | 'drift' | 'vulnerable' | 'broken' | 'unknown';

/**
 * The badge an environment earns from its last check and audit: `vulnerable` when the audit
 * found a vulnerability, else `drift` when the check has a warning or error. An audit's own
 * findings (an advisory source that could not be reached) are not drift; but an audit that left
 * anything unchecked (`checked: false`) earns no `ok`: the badge stays `unknown`.
 */
export function badgeOf(env: IEnvironment, check?: IReport | null, audit?: IReport | null): Badge {
  if (env.status === 'broken') {
    return 'broken';
  }
  if (audit && (audit.vulnerabilities || []).length > 0) {
    return 'vulnerable';
  }
  if (check && check.findings.some(f => f.severity === 'error' || f.severity === 'warning')) {
    return 'drift';
  }
  if (audit && audit.checked === false) {
    return 'unknown';
  }
  return check || audit ? 'ok' : 'unknown';
}

export class EnvironmentsModel {
  private _envs: IEnvironment[] = [];
  private _checks = new Map<string, IReport>();
  private _audits = new Map<string, IReport>();
  private _changed = new Signal<this, void>(this);
  private _error: string | null = null;

  /** Fired when the list, a badge or the error changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get environments(): IEnvironment[] {
    return this._envs;
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
      this._envs = rescan ? await api.refresh() : await api.list();
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    }
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
