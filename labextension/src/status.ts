/**
 * The status bar item: the environment of the current notebook's kernel, with a badge when a
 * check of the notebook (and an audit) finds drift or a vulnerability. Clicking opens details.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { api, IEnvironment } from './api';
import { badge, h } from './dom';
import { Badge, EnvironmentsModel } from './model';

export class KernelEnvStatus extends Widget {
  private _panel: NotebookPanel | null = null;
  private _env: IEnvironment | null = null;
  private _badge: Badge = 'unchecked';
  private _seq = 0;

  constructor(
    private _tracker: INotebookTracker,
    private _model: EnvironmentsModel,
    private _openDetails: (env: IEnvironment, notebook: string | undefined) => void
  ) {
    super();
    this.addClass('jp-EnvKernels-status');
    this.node.title = 'envkernels: the environment of this notebook\'s kernel';
    this.node.addEventListener('click', () => {
      if (this._env) {
        this._openDetails(this._env, this._panel?.context.path);
      }
    });
    _tracker.currentChanged.connect(this._onCurrent, this);
    _model.changed.connect(() => this._render(), this);
    this._onCurrent();
  }

  /** The environment shown now (null when the kernel is not an envkernels one). */
  get environment(): IEnvironment | null {
    return this._env;
  }

  private _onCurrent(): void {
    if (this._panel) {
      this._panel.sessionContext.kernelChanged.disconnect(this._update, this);
      this._panel.context.saveState.disconnect(this._onSave, this);
      this._panel.context.pathChanged.disconnect(this._update, this);
    }
    this._panel = this._tracker.currentWidget;
    if (this._panel) {
      this._panel.sessionContext.kernelChanged.connect(this._update, this);
      // the check reads the notebook from disk: a save may add or remove findings
      this._panel.context.saveState.connect(this._onSave, this);
      // a first save renames (Untitled.ipynb -> the chosen name) after the save completed: the
      // check of the old path would fail, so check again under the new one
      this._panel.context.pathChanged.connect(this._update, this);
      void this._panel.sessionContext.ready.then(() => this._update());
    }
    this._update();
  }

  private _onSave(_: unknown, state: string): void {
    if (state === 'completed') {
      this._update();
    }
  }

  private _update(): void {
    const seq = ++this._seq;
    const name = this._panel?.sessionContext.session?.kernel?.name
      ?? this._panel?.sessionContext.kernelPreference.name;
    this._env = (name && this._model.byKernelName(name)) || null;
    this._badge = 'unchecked';
    this._render();
    const env = this._env;
    if (!env || env.status !== 'ok') {
      return;
    }
    const notebook = this._panel?.context.path;
    void api.check(env.id, notebook).then(report => {
      if (seq === this._seq) {
        this._model.setCheck(env.id, report);
      }
    }).catch(() => undefined);
    void api.audit(env.id).then(report => {
      if (seq === this._seq) {
        this._model.setAudit(env.id, report);
      }
    }).catch(() => undefined);
  }

  private _render(): void {
    this.node.textContent = '';
    const env = this._env;
    this.setHidden(!env);
    if (!env) {
      return;
    }
    this._badge = this._model.badge(env);
    this.node.dataset.envId = env.id;
    this.node.dataset.badge = this._badge;
    this.node.appendChild(h('span', { class: 'jp-EnvKernels-status-name' }, `${env.kind}: ${env.name}`));
    if (this._badge !== 'ok' && this._badge !== 'unchecked') {
      this.node.appendChild(badge(this._badge));
    }
  }
}
