/**
 * The Environments sidebar: environments grouped by project, each with its kind, Python
 * version and badge, and buttons that run the envkernels commands on it.
 */
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { IEnvironment } from './api';
import { badge, h } from './dom';
import { EnvironmentsModel } from './model';

export const CommandIDs = {
  refresh: 'envkernels:refresh',
  openNotebook: 'envkernels:open-notebook',
  openConsole: 'envkernels:open-console',
  check: 'envkernels:check',
  audit: 'envkernels:audit',
  lock: 'envkernels:lock',
  sync: 'envkernels:sync',
  tree: 'envkernels:tree',
  diff: 'envkernels:diff',
  details: 'envkernels:details'
};

const ACTIONS: [string, string, string][] = [
  [CommandIDs.openNotebook, 'Notebook', 'Open a new notebook on this environment'],
  [CommandIDs.openConsole, 'Console', 'Open a console on this environment'],
  [CommandIDs.check, 'Check', 'Check the environment (broken requirements, drift from its lock, ...)'],
  [CommandIDs.audit, 'Audit', 'Known vulnerabilities (and licenses)'],
  [CommandIDs.lock, 'Lock', 'Write a pylock.toml of the environment'],
  [CommandIDs.sync, 'Sync', 'Make the environment match a lock (shows the plan first)'],
  [CommandIDs.tree, 'Tree', 'What pulls in what'],
  [CommandIDs.diff, 'Diff', 'Compare with another environment or a lock']
];

/** A group's title: the project (relative to the server root when it is inside it), or the kind. */
function groupOf(env: IEnvironment): string {
  if (env.project_path) {
    return env.project_path === '.' ? 'this folder' : env.project_path;
  }
  if (env.project) {
    return env.project;
  }
  return 'Other environments';
}

export class EnvironmentsPanel extends Widget {
  private _list: HTMLElement;
  private _status: HTMLElement;

  constructor(
    private _model: EnvironmentsModel,
    private _commands: CommandRegistry,
    private _logo: (env: IEnvironment) => string | undefined
  ) {
    super();
    this.id = 'envkernels-panel';
    this.addClass('jp-EnvKernels-panel');
    this.title.caption = 'Environments';
    const refresh = h('button', { class: 'jp-mod-styled jp-EnvKernels-refresh', title: 'Rescan for environments' }, 'Refresh');
    refresh.addEventListener('click', () => void this._commands.execute(CommandIDs.refresh));
    this._status = h('span', { class: 'jp-EnvKernels-count' });
    this.node.appendChild(h('div', { class: 'jp-EnvKernels-header' }, h('h2', {}, 'Environments'), refresh));
    this.node.appendChild(this._status);
    this._list = h('div', { class: 'jp-EnvKernels-list' });
    this.node.appendChild(this._list);
    this._model.changed.connect(this._render, this);
    this._render();
  }

  private _render(): void {
    const envs = this._model.environments;
    this._list.textContent = '';
    this._status.textContent = this._model.error
      ? `error: ${this._model.error}`
      : `${envs.length} environment${envs.length === 1 ? '' : 's'}`;
    this._status.classList.toggle('jp-EnvKernels-error', !!this._model.error);
    const groups = new Map<string, IEnvironment[]>();
    for (const env of envs) {
      const key = groupOf(env);
      groups.set(key, [...(groups.get(key) ?? []), env]);
    }
    const keys = [...groups.keys()].sort((a, b) =>
      a === 'Other environments' ? 1 : b === 'Other environments' ? -1 : a.localeCompare(b)
    );
    for (const key of keys) {
      const section = h('section', { class: 'jp-EnvKernels-group' }, h('h3', { title: key }, key));
      for (const env of groups.get(key)!) {
        section.appendChild(this._item(env));
      }
      this._list.appendChild(section);
    }
  }

  private _item(env: IEnvironment): HTMLElement {
    const mark = this._model.badge(env);
    const logo = this._logo(env);
    const icon = logo
      ? h('img', { class: 'jp-EnvKernels-kindicon', src: logo, alt: env.kind })
      : h('span', { class: 'jp-EnvKernels-kindicon jp-EnvKernels-kindtext' }, env.kind.slice(0, 2));
    const item = h('div', { class: 'jp-EnvKernels-item', 'data-env-id': env.id, 'data-env-name': env.name, title: env.prefix },
      h('div', { class: 'jp-EnvKernels-row' },
        icon,
        h('span', { class: 'jp-EnvKernels-name' }, env.name),
        // Nothing checked yet (or an audit that could not check everything): no green badge.
        badge(mark === 'unknown' && env.status !== 'ok' ? 'broken' : mark)
      ),
      h('div', { class: 'jp-EnvKernels-meta' },
        h('span', { class: 'jp-EnvKernels-kind' }, env.kind),
        ' · ',
        h('span', { class: 'jp-EnvKernels-python' }, env.python_version ? `Py ${env.python_version}` : 'Py ?')
      )
    );
    if (env.problem) {
      const text = env.problem + (env.hint ? ` — ${env.hint}` : '');
      item.appendChild(h('div', { class: 'jp-EnvKernels-problem', title: text }, text));
    }
    const actions = h('div', { class: 'jp-EnvKernels-actions' });
    for (const [command, label, caption] of ACTIONS) {
      const button = h('button', { class: 'jp-EnvKernels-action', title: caption, 'data-command': command }, label) as HTMLButtonElement;
      button.disabled = env.status === 'broken' && (command === CommandIDs.openNotebook || command === CommandIDs.openConsole);
      button.addEventListener('click', () => void this._commands.execute(command, { id: env.id }));
      actions.appendChild(button);
    }
    item.appendChild(actions);
    return item;
  }
}
