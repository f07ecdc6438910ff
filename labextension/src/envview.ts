/**
 * The "Environment" view: one main-area widget per environment, with tabs for what envkernels
 * knows and does about it (overview, check, audit, dependency tree, diff, lock, sync), instead
 * of a row of buttons per environment. Commands open it on a tab (`show`).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { api, IEnvironment, IReport, ISyncAnswer } from './api';
import { badge, command, h, problemBlock } from './dom';
import { EnvironmentsModel } from './model';
import { errorBlock, renderDiff, renderPlan, renderReport, sideLabel, TreeBrowser } from './views';

export type Tab = 'overview' | 'check' | 'audit' | 'tree' | 'diff' | 'lock' | 'sync';

const TABS: [Tab, string][] = [
  ['overview', 'Overview'],
  ['check', 'Check'],
  ['audit', 'Audit'],
  ['tree', 'Dependencies'],
  ['diff', 'Diff'],
  ['lock', 'Lock'],
  ['sync', 'Sync']
];

/** A path next to the environment's project (relative to the server root). */
export function guessPath(env: IEnvironment, file: string): string {
  return env.project_path && env.project_path !== '.' ? `${env.project_path}/${file}` : file;
}

export class EnvironmentView extends Widget {
  private _tabs = new Map<Tab, { tab: HTMLElement; panel: HTMLElement; loaded: boolean }>();
  private _current: Tab = 'overview';
  private _header: HTMLElement;
  private _notebook: string | undefined;

  constructor(
    private _env: IEnvironment,
    private _model: EnvironmentsModel
  ) {
    super();
    this.addClass('jp-EnvKernels-envview');
    this.id = `envkernels-env-${_env.id}`;
    this.title.label = `Environment: ${_env.name}`;
    this.title.caption = _env.prefix;
    this.title.closable = true;
    this._header = h('div', { class: 'jp-EnvKernels-envhead' });
    this.node.appendChild(this._header);
    const tablist = h('div', { class: 'jp-EnvKernels-tabs', role: 'tablist', 'aria-label': `${_env.name} details` });
    this.node.appendChild(tablist);
    for (const [key, label] of TABS) {
      const tab = h('button', {
        class: 'jp-EnvKernels-tab',
        type: 'button',
        role: 'tab',
        id: `${this.id}-tab-${key}`,
        'aria-controls': `${this.id}-panel-${key}`,
        'data-tab': key
      }, label);
      const panel = h('div', {
        class: `jp-EnvKernels-tabpanel jp-EnvKernels-tabpanel-${key}`,
        role: 'tabpanel',
        id: `${this.id}-panel-${key}`,
        'aria-labelledby': tab.id,
        tabindex: '0'
      });
      tab.addEventListener('click', () => void this.showTab(key));
      tab.addEventListener('keydown', ev => this._tabKey(ev, key));
      tablist.appendChild(tab);
      this.node.appendChild(panel);
      this._tabs.set(key, { tab, panel, loaded: false });
    }
    this._model.changed.connect(this._renderHeader, this);
    this._renderHeader();
    void this.showTab('overview');
  }

  get environment(): IEnvironment {
    return this._env;
  }

  /** The tab shown now. */
  get current(): Tab {
    return this._current;
  }

  dispose(): void {
    this._model.changed.disconnect(this._renderHeader, this);
    super.dispose();
  }

  /**
   * Show a tab. `rerun` runs its work again (a command asked for a fresh check); a tab shown
   * for the first time always loads. `notebook`: check with that notebook's imports.
   */
  async showTab(tab: Tab, options: { rerun?: boolean; notebook?: string } = {}): Promise<void> {
    if (options.notebook !== undefined && options.notebook !== this._notebook) {
      this._notebook = options.notebook || undefined;
      options.rerun = true;
    }
    this._current = tab;
    for (const [key, { tab: t, panel }] of this._tabs) {
      const on = key === tab;
      t.setAttribute('aria-selected', String(on));
      t.setAttribute('tabindex', on ? '0' : '-1');
      t.classList.toggle('jp-mod-current', on);
      panel.hidden = !on;
    }
    const entry = this._tabs.get(tab)!;
    if (!entry.loaded || options.rerun) {
      entry.loaded = true;
      await this._load(tab, entry.panel);
    }
  }

  private _tabKey(ev: KeyboardEvent, key: Tab): void {
    const keys = TABS.map(([k]) => k);
    let at = keys.indexOf(key);
    if (ev.key === 'ArrowRight') {
      at = (at + 1) % keys.length;
    } else if (ev.key === 'ArrowLeft') {
      at = (at - 1 + keys.length) % keys.length;
    } else if (ev.key === 'Home') {
      at = 0;
    } else if (ev.key === 'End') {
      at = keys.length - 1;
    } else {
      return;
    }
    ev.preventDefault();
    void this.showTab(keys[at]);
    this._tabs.get(keys[at])!.tab.focus();
  }

  private _renderHeader(): void {
    const env = this._model.byId(this._env.id) ?? this._env;
    this._env = env;
    this._header.textContent = '';
    this._header.appendChild(h('h2', { class: 'jp-EnvKernels-envtitle' }, h('span', {}, env.name), ' ', badge(this._model.badge(env))));
    this._header.appendChild(h('p', { class: 'jp-EnvKernels-muted' },
      `${env.kind} · Python `, h('code', {}, env.python_version ?? '?'), ' · ', h('code', {}, env.prefix)));
  }

  private async _load(tab: Tab, panel: HTMLElement): Promise<void> {
    panel.textContent = '';
    switch (tab) {
      case 'overview':
        return this._overview(panel);
      case 'check':
        return this._report(panel, 'Checking', async () => {
          const check = await api.check(this._env.id, this._notebook);
          this._model.setCheck(this._env.id, check);
          return check;
        });
      case 'audit':
        return this._report(panel, 'Auditing', async () => {
          const audit = await api.audit(this._env.id);
          this._model.setAudit(this._env.id, audit);
          return audit;
        });
      case 'tree':
        return this._busy(panel, 'Reading the installed packages', async () => new TreeBrowser(await api.tree(this._env.id)).node);
      case 'diff':
        return this._diff(panel);
      case 'lock':
        return this._lock(panel);
      case 'sync':
        return this._sync(panel);
    }
  }

  private _overview(panel: HTMLElement): void {
    const env = this._env;
    const rows: [string, Node | string][] = [
      ['Kind', env.kind],
      ['Python', h('code', {}, `${env.python_version ?? '?'} (${env.implementation}${env.free_threaded ? ', free-threaded' : ''})`)],
      ['Location', command(env.prefix)],
      ['Interpreter', env.python ? command(env.python) : 'none found'],
      ['Project', env.project ? h('code', {}, env.project_path ?? env.project) : 'none'],
      ['Lockfiles', env.lockfiles.length ? h('span', {}, ...env.lockfiles.map(l => h('code', { class: 'jp-EnvKernels-listitem' }, l))) : 'none'],
      ['Kernel', h('code', {}, env.kernel_name)],
      ['Last check', env.verdict && env.verdict !== 'unchecked'
        ? `${env.verdict === 'not-checked' ? 'not checked' : env.verdict}${env.verdict_at ? ` (${new Date(env.verdict_at).toLocaleString()})` : ''}`
        : 'never: open the Check tab']
    ];
    const dl = h('dl', { class: 'jp-EnvKernels-facts' });
    for (const [term, value] of rows) {
      dl.appendChild(h('dt', {}, term));
      dl.appendChild(h('dd', {}, value));
    }
    if (env.problem) {
      panel.appendChild(problemBlock(env.problem, env.hint));
    }
    panel.appendChild(dl);
  }

  /** Run `work` with a status line; its element (or its error) replaces the line. */
  private async _busy(panel: HTMLElement, what: string, work: () => Promise<HTMLElement>): Promise<void> {
    const status = h('p', { class: 'jp-EnvKernels-muted jp-EnvKernels-busy', role: 'status' }, `${what}…`);
    panel.textContent = '';
    panel.appendChild(status);
    try {
      const node = await work();
      status.remove();
      panel.appendChild(node);
    } catch (error) {
      status.remove();
      panel.appendChild(errorBlock(error));
    }
  }

  private async _report(panel: HTMLElement, what: string, run: () => Promise<IReport>): Promise<void> {
    const again = h('button', { class: 'jp-mod-styled jp-EnvKernels-rerun', type: 'button' }, 'Run again');
    const body = h('div');
    const toolbar = h('div', { class: 'jp-EnvKernels-formrow' }, again);
    if (this._notebook && what === 'Checking') {
      toolbar.appendChild(h('span', { class: 'jp-EnvKernels-muted' }, 'with the imports of ', h('code', {}, this._notebook)));
    }
    panel.appendChild(toolbar);
    panel.appendChild(body);
    const go = () => this._busy(body, what, async () => renderReport([await run()]));
    again.addEventListener('click', () => void go());
    await go();
  }

  private _diff(panel: HTMLElement): void {
    const others = this._model.environments.filter(e => e.id !== this._env.id);
    const select = h('select', { class: 'jp-EnvKernels-input', 'aria-label': 'Compare with' }) as HTMLSelectElement;
    for (const e of others) {
      select.appendChild(h('option', { value: `env:${e.id}` }, `${e.name} (${e.kind}, Python ${e.python_version ?? '?'})`));
    }
    for (const lock of this._env.lockfiles) {
      select.appendChild(h('option', { value: `lock:${guessPath(this._env, lock.split('/').pop()!)}` }, `lock ${lock.split('/').pop()}`));
    }
    select.appendChild(h('option', { value: 'path' }, 'a lockfile…'));
    const path = h('input', { type: 'text', class: 'jp-EnvKernels-input', 'aria-label': 'Lockfile (relative to the server root)', value: guessPath(this._env, 'pylock.toml') }) as HTMLInputElement;
    path.hidden = true;
    select.addEventListener('change', () => (path.hidden = select.value !== 'path'));
    const go = h('button', { class: 'jp-mod-styled jp-mod-accept', type: 'button' }, 'Compare');
    const out = h('div');
    go.addEventListener('click', () =>
      void this._busy(out, 'Comparing', async () => {
        const value = select.value;
        const diff = value.startsWith('env:')
          ? await api.diffEnv(this._env.id, value.slice(4))
          : await api.diffLock(this._env.id, value === 'path' ? path.value : value.slice(5));
        const node = renderDiff(diff);
        node.prepend(h('h3', {}, `${sideLabel(diff.left)} ↔ ${sideLabel(diff.right)}`));
        return node;
      })
    );
    panel.appendChild(h('div', { class: 'jp-EnvKernels-formrow' }, h('label', {}, 'Compare with ', select), path, go));
    panel.appendChild(out);
  }

  private _lock(panel: HTMLElement): void {
    const path = h('input', { type: 'text', class: 'jp-EnvKernels-input jp-EnvKernels-lock-path', 'aria-label': 'Lockfile to write (relative to the server root)', value: guessPath(this._env, 'pylock.toml') }) as HTMLInputElement;
    const go = h('button', { class: 'jp-mod-styled jp-mod-accept jp-EnvKernels-lock-write', type: 'button' }, 'Write lock');
    const out = h('div', { 'aria-live': 'polite' });
    go.addEventListener('click', () =>
      void this._busy(out, 'Locking', async () => {
        const answer = await api.lock(this._env.id, path.value);
        const where = answer.relative_path ?? answer.path ?? path.value;
        const node = h('div', { class: 'jp-EnvKernels-done' }, h('p', {}, `${answer.packages} packages written to `, h('code', {}, where), '.'));
        for (const w of answer.warnings) {
          node.appendChild(h('p', { class: 'jp-EnvKernels-warning' }, w));
        }
        return node;
      })
    );
    panel.appendChild(h('p', { class: 'jp-EnvKernels-muted' }, 'Write a PEP 751 pylock.toml of what is installed (an earlier file is kept as a .bak).'));
    panel.appendChild(h('div', { class: 'jp-EnvKernels-formrow' }, h('label', {}, 'Lockfile ', path), go));
    panel.appendChild(out);
  }

  private _sync(panel: HTMLElement): void {
    const lock = h('input', { type: 'text', class: 'jp-EnvKernels-input jp-EnvKernels-sync-lock', 'aria-label': 'Lock to sync to (relative to the server root)', value: guessPath(this._env, 'pylock.toml') }) as HTMLInputElement;
    const go = h('button', { class: 'jp-mod-styled jp-mod-accept jp-EnvKernels-sync-plan', type: 'button' }, 'Show plan');
    const out = h('div', { 'aria-live': 'polite' });
    go.addEventListener('click', () =>
      void this._busy(out, 'Planning', async () => {
        const lockPath = lock.value;
        const plan = await api.sync(this._env.id, lockPath, true);
        const node = renderPlan(plan);
        if (!plan.plan.is_empty) {
          const apply = h('button', { class: 'jp-mod-styled jp-mod-warn jp-EnvKernels-sync-apply', type: 'button' }, 'Apply…');
          apply.addEventListener('click', () => void this._apply(out, lockPath, plan));
          node.appendChild(h('div', { class: 'jp-EnvKernels-formrow' }, apply));
        }
        return node;
      })
    );
    panel.appendChild(h('p', { class: 'jp-EnvKernels-muted' }, 'Make the environment match a lock. The plan is shown first; nothing changes until you apply it.'));
    panel.appendChild(h('div', { class: 'jp-EnvKernels-formrow' }, h('label', {}, 'Lock ', lock), go));
    panel.appendChild(out);
  }

  private async _apply(out: HTMLElement, lockPath: string, plan: ISyncAnswer): Promise<void> {
    const answer = await showDialog({
      title: `Apply this plan to ${this._env.name}?`,
      body: new Widget({ node: renderPlan(plan) }),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Apply' })],
      // a change to an environment is never the default: Enter cancels
      defaultButton: 0
    });
    if (!answer.button.accept) {
      return;
    }
    await this._busy(out, 'Syncing', async () => {
      const done = await api.sync(this._env.id, lockPath, false);
      const node = h('div', { class: 'jp-EnvKernels-done' }, h('p', {}, 'Synced. ', done.text));
      if (done.restart_needed?.length) {
        node.appendChild(h('p', { class: 'jp-EnvKernels-warning' }, `Restart the kernels using it: ${done.restart_needed.join(', ')}`));
      }
      this._tabs.get('check')!.loaded = false;
      this._tabs.get('tree')!.loaded = false;
      return node;
    });
  }
}
