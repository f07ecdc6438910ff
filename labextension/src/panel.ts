/**
 * The Environments sidebar, built like JupyterLab's own (Running Terminals and Kernels, the
 * Extension Manager): a toolbar, a filter box, collapsible groups, one compact row per
 * environment (kind logo, name, Python, badge) whose few actions show on hover or selection;
 * everything else is in the context menu, the command palette and the Environment view.
 */
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import { caretDownIcon, caretRightIcon, consoleIcon, LabIcon, notebookIcon, refreshIcon, searchIcon } from '@jupyterlab/ui-components';

import { IEnvironment } from './api';
import { badge, h, problemBlock } from './dom';
import { EnvironmentsModel, GROUPS, GroupId, groupOf } from './model';

export const CommandIDs = {
  refresh: 'envkernels:refresh',
  openNotebook: 'envkernels:open-notebook',
  openConsole: 'envkernels:open-console',
  open: 'envkernels:open',
  check: 'envkernels:check',
  audit: 'envkernels:audit',
  lock: 'envkernels:lock',
  sync: 'envkernels:sync',
  tree: 'envkernels:tree',
  diff: 'envkernels:diff',
  details: 'envkernels:details',
  copyPath: 'envkernels:copy-path',
  fork: 'envkernels:fork',
  filter: 'envkernels:filter'
};

/** Can a kernel start on it? (`broken` and `unsupported` ones are not in the launcher either.) */
export function canStart(env: IEnvironment): boolean {
  return env.status !== 'broken' && env.status !== 'unsupported';
}

function iconButton(icon: LabIcon, label: string, commandId: string, disabled = false): HTMLButtonElement {
  const button = h('button', {
    class: 'jp-EnvKernels-rowbutton jp-Button jp-mod-minimal',
    type: 'button',
    title: label,
    'aria-label': label,
    'data-command': commandId,
    tabindex: '-1'
  }) as HTMLButtonElement;
  icon.element({ container: button, elementPosition: 'center', height: '16px', width: '16px' });
  button.disabled = disabled;
  return button;
}

const CHECK_ICON = new LabIcon({
  name: 'envkernels:check',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z"/></g></svg>'
});
const MORE_ICON = new LabIcon({
  name: 'envkernels:more',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<circle cx="5" cy="12" r="2"/><circle cx="12" cy="12" r="2"/><circle cx="19" cy="12" r="2"/></g></svg>'
});

/** What the "team" marker and the disabled Sync say: a shared environment is read-only. */
export const TEAM_HELP = 'A shared (team) environment: read-only for you; fork it to change it';

/** The "team" marker of a shared environment's row (text, so it reads in every theme). */
function teamMark(): HTMLElement {
  return h('span', { class: 'jp-EnvKernels-team', title: TEAM_HELP, 'aria-label': 'team environment' }, 'team');
}

export class EnvironmentsPanel extends Widget {
  private _list: HTMLElement;
  private _status: HTMLElement;
  private _filter: HTMLInputElement;
  private _collapsed = new Set<GroupId>();
  private _selected: string | null = null;
  private _rows = new Map<string, { node: HTMLElement; haystack: string }>();

  constructor(
    private _model: EnvironmentsModel,
    private _commands: CommandRegistry,
    private _logo: (env: IEnvironment) => string | undefined
  ) {
    super();
    this.id = 'envkernels-panel';
    this.addClass('jp-EnvKernels-panel');
    this.title.caption = 'Environments';
    const refresh = iconButton(refreshIcon, 'Refresh the environments list (rescan)', CommandIDs.refresh);
    refresh.classList.replace('jp-EnvKernels-rowbutton', 'jp-EnvKernels-refresh');
    refresh.removeAttribute('tabindex');
    refresh.addEventListener('click', () => void this._commands.execute(CommandIDs.refresh));
    this.node.appendChild(
      h('div', { class: 'jp-EnvKernels-header' }, h('h2', { class: 'jp-EnvKernels-title' }, 'Environments'), refresh)
    );
    this._filter = h('input', {
      type: 'search',
      class: 'jp-EnvKernels-filter-input',
      placeholder: 'Filter by name, kind, Python…',
      'aria-label': 'Filter environments',
      spellcheck: 'false'
    }) as HTMLInputElement;
    const glass = h('span', { class: 'jp-EnvKernels-filter-icon', 'aria-hidden': 'true' });
    searchIcon.element({ container: glass, height: '14px', width: '14px' });
    const searchBox = h('div', { class: 'jp-EnvKernels-filter' }, glass, this._filter);
    this._filter.addEventListener('input', () => this.applyFilter());
    this._filter.addEventListener('keydown', ev => {
      if (ev.key === 'ArrowDown') {
        ev.preventDefault();
        this._focusRow(this._visibleRows()[0]);
      } else if (ev.key === 'Escape' && this._filter.value) {
        ev.stopPropagation();
        this._filter.value = '';
        this.applyFilter();
      }
    });
    this.node.appendChild(searchBox);
    this._status = h('div', { class: 'jp-EnvKernels-count', role: 'status' });
    this.node.appendChild(this._status);
    this._list = h('div', { class: 'jp-EnvKernels-list' });
    this._list.addEventListener('keydown', ev => this._onKeyDown(ev));
    this._list.addEventListener('click', ev => this._onClick(ev));
    this._list.addEventListener('dblclick', ev => {
      const row = this._rowOf(ev.target);
      if (row && !(ev.target as HTMLElement).closest('button')) {
        void this._commands.execute(CommandIDs.open, { id: row.dataset.envId! });
      }
    });
    this._list.addEventListener('contextmenu', ev => {
      const row = this._rowOf(ev.target);
      if (row) {
        this._select(row.dataset.envId!, false);
      }
    });
    this.node.appendChild(this._list);
    this._model.changed.connect(this._render, this);
    this._render();
  }

  /** The selected environment (what palette commands act on), if any. */
  get selected(): IEnvironment | undefined {
    return this._selected ? this._model.byId(this._selected) : undefined;
  }

  /** Select an environment's row and bring it into view (a fork just made). */
  reveal(id: string): void {
    const row = this._rows.get(id)?.node;
    if (row) {
      this._select(id, false);
      row.scrollIntoView({ block: 'nearest' });
    }
  }

  /** Put the keyboard focus into the filter box. */
  focusFilter(): void {
    this._filter.focus();
    this._filter.select();
  }

  /** Show only the rows whose name, kind, Python or project contains every word typed. */
  applyFilter(): void {
    const words = this._filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const { node, haystack } of this._rows.values()) {
      const match = words.every(w => haystack.includes(w));
      if (node.hidden === match) {
        node.hidden = !match; // only what changes: no style work for rows that stay as they are
      }
      if (match) {
        shown++;
      }
    }
    for (const section of Array.from(this._list.children) as HTMLElement[]) {
      const empty = !section.querySelector('.jp-EnvKernels-item:not([hidden])');
      if (section.hidden !== empty) {
        section.hidden = empty;
      }
    }
    this._count(shown);
  }

  private _count(shown: number): void {
    const total = this._model.environments.length;
    let text: string;
    if (this._model.error) {
      text = `error: ${this._model.error}`;
    } else if (!this._model.loaded) {
      text = 'Loading…';
    } else if (total === 0) {
      text = 'No environments found. Create one (e.g. uv venv) and press Refresh.';
    } else if (shown === total) {
      text = `${total} environment${total === 1 ? '' : 's'}`;
    } else if (shown === 0) {
      text = `No environment matches “${this._filter.value}”`;
    } else {
      text = `${shown} of ${total} environments`;
    }
    this._status.textContent = text;
    this._status.classList.toggle('jp-EnvKernels-error', !!this._model.error);
  }

  private _render(): void {
    const hadFocus = this._list.contains(document.activeElement) ? (document.activeElement as HTMLElement) : null;
    const focusedId = hadFocus?.closest<HTMLElement>('.jp-EnvKernels-item')?.dataset.envId;
    const envs = this._model.environments;
    if (this._selected && !this._model.byId(this._selected)) {
      this._selected = null;
    }
    this._rows.clear();
    const fragment = document.createDocumentFragment();
    const kindLogos = new Map<string, string>();
    for (const group of GROUPS) {
      const members = envs.filter(e => groupOf(e) === group.id);
      if (members.length === 0) {
        continue;
      }
      const collapsed = this._collapsed.has(group.id);
      const listId = `envkernels-group-${group.id}`;
      const toggle = h('button', {
        class: 'jp-EnvKernels-group-toggle',
        type: 'button',
        'aria-expanded': String(!collapsed),
        'aria-controls': listId
      });
      (collapsed ? caretRightIcon : caretDownIcon).element({ container: toggle, height: '16px', width: '16px', elementPosition: 'center' });
      toggle.appendChild(h('span', { class: 'jp-EnvKernels-group-label' }, group.label));
      toggle.appendChild(h('span', { class: 'jp-EnvKernels-group-count' }, String(members.length)));
      toggle.addEventListener('click', () => {
        if (this._collapsed.has(group.id)) {
          this._collapsed.delete(group.id);
        } else {
          this._collapsed.add(group.id);
        }
        this._render();
        (this._list.querySelector(`[aria-controls="${listId}"]`) as HTMLElement | null)?.focus();
      });
      const list = h('ul', { class: 'jp-EnvKernels-rows', id: listId, 'aria-label': group.label });
      list.hidden = collapsed;
      for (const env of members) {
        let logo = kindLogos.get(env.kind);
        if (!logo) {
          logo = this._logo(env);
          if (logo) {
            kindLogos.set(env.kind, logo); // one image per kind, not one request per environment
          }
        }
        const row = this._row(env, logo);
        this._rows.set(env.id, { node: row, haystack: [env.name, env.kind, env.python_version ?? '', env.project_path ?? '', this._model.badge(env), env.shared ? 'team' : ''].join(' ').toLowerCase() });
        list.appendChild(row);
      }
      fragment.appendChild(
        h('section', { class: 'jp-EnvKernels-group', 'data-group': group.id }, h('h3', { class: 'jp-EnvKernels-group-header' }, toggle), list)
      );
    }
    this._list.textContent = '';
    this._list.appendChild(fragment);
    this.applyFilter();
    // one row is reachable with Tab (the selected one, else the first); arrows move between rows
    const tabStop = (this._selected && this._rows.get(this._selected)?.node) || this._visibleRows()[0];
    tabStop?.setAttribute('tabindex', '0');
    performance.mark('envkernels:rendered');
    // after the frame that shows it (benchmarks/bench_panel.py reads these marks)
    requestAnimationFrame(() => setTimeout(() => performance.mark('envkernels:painted'), 0));
    if (focusedId) {
      this._rows.get(focusedId)?.node.focus();
    } else if (hadFocus && !this._list.contains(document.activeElement)) {
      tabStop?.focus();
    }
  }

  private _row(env: IEnvironment, logo: string | undefined): HTMLElement {
    const mark = this._model.badge(env);
    const startable = canStart(env);
    const icon = logo
      ? h('img', { class: 'jp-EnvKernels-kindicon', src: logo, alt: '' })
      : h('span', { class: 'jp-EnvKernels-kindicon jp-EnvKernels-kindtext', 'aria-hidden': 'true' }, env.kind.slice(0, 2));
    const python = env.python_version ? env.python_version : '?';
    const selected = env.id === this._selected;
    const row = h('li', {
      class: 'jp-EnvKernels-item' + (selected ? ' jp-mod-selected' : ''),
      'data-env-id': env.id,
      'data-env-name': env.name,
      'data-kind': env.kind,
      'data-badge': mark,
      tabindex: '-1',
      'aria-label': `${env.name}, ${env.shared ? 'team environment, ' : ''}${env.kind}, Python ${python}, ${mark}`,
      'aria-current': selected ? 'true' : undefined,
      title: `${env.kind} environment · Python ${python}\n${env.prefix}${env.project_path ? `\nproject: ${env.project_path}` : ''}`
    });
    const tools = h('div', { class: 'jp-EnvKernels-rowtools' },
      iconButton(notebookIcon, startable ? `New notebook on ${env.name}` : `${env.name} cannot start a kernel`, CommandIDs.openNotebook, !startable),
      iconButton(consoleIcon, startable ? `New console on ${env.name}` : `${env.name} cannot start a kernel`, CommandIDs.openConsole, !startable),
      iconButton(CHECK_ICON, `Check ${env.name}`, CommandIDs.check),
      iconButton(MORE_ICON, `More actions for ${env.name}`, 'menu')
    );
    row.appendChild(
      h('div', { class: 'jp-EnvKernels-row' },
        icon,
        h('span', { class: 'jp-EnvKernels-name' }, env.name),
        ...(env.shared ? [teamMark()] : []),
        h('span', { class: 'jp-EnvKernels-kind', hidden: '' }, env.kind),
        h('span', { class: 'jp-EnvKernels-python' }, python),
        tools,
        badge(mark, env.verdict_stale && mark !== 'unchecked' ? 'packages changed since; re-checking' : undefined)
      )
    );
    if (env.problem) {
      row.appendChild(problemBlock(env.problem, env.hint));
    }
    return row;
  }

  private _rowOf(target: EventTarget | null): HTMLElement | null {
    return (target as HTMLElement | null)?.closest?.<HTMLElement>('.jp-EnvKernels-item') ?? null;
  }

  private _visibleRows(): HTMLElement[] {
    return Array.from(this._list.querySelectorAll<HTMLElement>('.jp-EnvKernels-rows:not([hidden]) > .jp-EnvKernels-item:not([hidden])'));
  }

  private _select(id: string, focus = true): void {
    if (this._selected !== id) {
      this._selected = id;
      for (const [rid, { node }] of this._rows) {
        const on = rid === id;
        node.classList.toggle('jp-mod-selected', on);
        node.setAttribute('tabindex', on ? '0' : '-1');
        if (on) {
          node.setAttribute('aria-current', 'true');
        } else {
          node.removeAttribute('aria-current');
        }
      }
    }
    if (focus) {
      this._rows.get(id)?.node.focus();
    }
  }

  private _focusRow(row: HTMLElement | undefined): void {
    if (row) {
      this._select(row.dataset.envId!);
      row.scrollIntoView({ block: 'nearest' });
    }
  }

  private _onClick(ev: MouseEvent): void {
    const row = this._rowOf(ev.target);
    if (!row) {
      return;
    }
    const id = row.dataset.envId!;
    this._select(id);
    const button = (ev.target as HTMLElement).closest<HTMLButtonElement>('.jp-EnvKernels-rowbutton');
    if (!button || button.disabled) {
      return;
    }
    const commandId = button.dataset.command!;
    if (commandId === 'menu') {
      // JupyterLab's context menu, opened where the button is (its items match the row)
      const rect = button.getBoundingClientRect();
      button.dispatchEvent(new MouseEvent('contextmenu', { clientX: rect.left, clientY: rect.bottom, bubbles: true, cancelable: true }));
      return;
    }
    void this._commands.execute(commandId, { id });
  }

  private _onKeyDown(ev: KeyboardEvent): void {
    const row = this._rowOf(ev.target);
    if (!row) {
      return;
    }
    const button = (ev.target as HTMLElement).closest<HTMLElement>('.jp-EnvKernels-rowbutton');
    if (button) {
      const buttons = Array.from(row.querySelectorAll<HTMLElement>('.jp-EnvKernels-rowbutton:not(:disabled)'));
      const at = buttons.indexOf(button);
      if (ev.key === 'ArrowRight' && at < buttons.length - 1) {
        buttons[at + 1].focus();
      } else if (ev.key === 'ArrowLeft' && at > 0) {
        buttons[at - 1].focus();
      } else if (ev.key === 'Escape' || ev.key === 'ArrowLeft') {
        row.focus();
      } else {
        return;
      }
      ev.preventDefault();
      ev.stopPropagation();
      return;
    }
    const rows = this._visibleRows();
    const at = rows.indexOf(row);
    const id = row.dataset.envId!;
    switch (ev.key) {
      case 'ArrowDown':
        this._focusRow(rows[Math.min(at + 1, rows.length - 1)]);
        break;
      case 'ArrowUp':
        if (at === 0) {
          this._filter.focus();
        } else {
          this._focusRow(rows[at - 1]);
        }
        break;
      case 'Home':
        this._focusRow(rows[0]);
        break;
      case 'End':
        this._focusRow(rows[rows.length - 1]);
        break;
      case 'Enter':
        void this._commands.execute(ev.shiftKey || ev.ctrlKey ? CommandIDs.openNotebook : CommandIDs.open, { id });
        break;
      case 'ArrowRight':
        // into the row's toolbar, as in a toolbar: arrows move, Escape comes back
        (row.querySelector('.jp-EnvKernels-rowbutton:not(:disabled)') as HTMLElement | null)?.focus();
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopPropagation();
  }
}
