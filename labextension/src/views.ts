/**
 * The main-area views: a report (check/audit findings), the dependency tree, and the
 * side-by-side diff. Each is a Lumino Widget built from the JSON the server sent.
 */
import { Widget } from '@lumino/widgets';

import { IDiff, IEnvironment, IPackageNode, IReport, ITree, api } from './api';
import { badge, h } from './dom';
import { Badge } from './model';

/** Findings, vulnerabilities and licenses of one environment. */
export class ReportView extends Widget {
  constructor(env: IEnvironment, title: string, reports: IReport[], mark: Badge) {
    super();
    this.addClass('jp-EnvKernels-report');
    this.id = `envkernels-report-${env.id}-${title}`;
    this.title.label = `${title}: ${env.name}`;
    this.title.closable = true;
    const body = this.node;
    body.appendChild(
      h('h2', {}, `${title} of ${env.name} `, badge(mark)),
      );
    body.appendChild(h('p', { class: 'jp-EnvKernels-prefix' }, `${env.kind} · Python ${env.python_version ?? '?'} · ${env.prefix}`));
    const vulns = reports.flatMap(r => r.vulnerabilities || []);
    // a vulnerability's finding repeats a row of the vulnerabilities table below
    const findings = reports.flatMap(r => r.findings).filter(f => !(vulns.length && f.code === 'vulnerability'));
    const licenses = reports.flatMap(r => r.licenses || []);
    if (findings.length === 0 && vulns.length === 0) {
      body.appendChild(h('p', { class: 'jp-EnvKernels-none' }, 'No findings.'));
    }
    if (findings.length > 0) {
      const table = h('table', { class: 'jp-EnvKernels-table jp-EnvKernels-findings' });
      table.appendChild(h('tr', {}, h('th', {}, 'severity'), h('th', {}, 'code'), h('th', {}, 'package'), h('th', {}, 'message'), h('th', {}, 'hint')));
      for (const f of findings) {
        table.appendChild(
          h('tr', { class: `jp-EnvKernels-sev-${f.severity}`, 'data-code': f.code },
            h('td', {}, f.severity), h('td', {}, h('code', {}, f.code)), h('td', {}, f.package ?? ''),
            h('td', {}, f.message), h('td', {}, f.hint ?? ''))
        );
      }
      body.appendChild(table);
    }
    if (vulns.length > 0) {
      body.appendChild(h('h3', {}, `Vulnerabilities (${vulns.length})`));
      const table = h('table', { class: 'jp-EnvKernels-table jp-EnvKernels-vulns' });
      table.appendChild(h('tr', {}, h('th', {}, 'package'), h('th', {}, 'version'), h('th', {}, 'id'), h('th', {}, 'fixed in'), h('th', {}, 'summary')));
      for (const v of vulns) {
        table.appendChild(h('tr', {}, h('td', {}, v.package), h('td', {}, v.version), h('td', {}, v.id),
          h('td', {}, (v.fixed_in || []).join(', ')), h('td', {}, v.summary || '')));
      }
      body.appendChild(table);
    }
    if (licenses.length > 0) {
      body.appendChild(h('h3', {}, 'Licenses'));
      const table = h('table', { class: 'jp-EnvKernels-table' });
      table.appendChild(h('tr', {}, h('th', {}, 'package'), h('th', {}, 'version'), h('th', {}, 'license'), h('th', {}, 'status')));
      for (const l of licenses) {
        table.appendChild(h('tr', { class: `jp-EnvKernels-lic-${l.status}` }, h('td', {}, l.package), h('td', {}, l.version),
          h('td', {}, l.license ?? '?'), h('td', {}, l.status)));
      }
      body.appendChild(table);
    }
  }
}

/** What pulls in what: the packages nothing requires at the top, each expandable; plus "why is X here". */
export class TreeView extends Widget {
  private _byName = new Map<string, IPackageNode>();
  private _whyOut: HTMLElement;

  constructor(private _tree: ITree) {
    super();
    const env = _tree.environment;
    this.addClass('jp-EnvKernels-tree');
    this.id = `envkernels-tree-${env.id}`;
    this.title.label = `Dependencies: ${env.name}`;
    this.title.closable = true;
    for (const p of _tree.packages) {
      this._byName.set(p.name.toLowerCase(), p);
    }
    this.node.appendChild(h('h2', {}, `Dependencies of ${env.name}`));
    this.node.appendChild(h('p', { class: 'jp-EnvKernels-prefix' }, `${_tree.packages.length} packages, ${_tree.roots.length} not required by any other · ${env.prefix}`));
    const input = h('input', { type: 'text', placeholder: 'Why is … installed? (package name)', class: 'jp-EnvKernels-why-input' }) as HTMLInputElement;
    const button = h('button', { class: 'jp-mod-styled jp-mod-accept' }, 'Why?');
    this._whyOut = h('div', { class: 'jp-EnvKernels-why' });
    const ask = () => void this._why(input.value.trim());
    button.addEventListener('click', ask);
    input.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        ask();
      }
    });
    this.node.appendChild(h('div', { class: 'jp-EnvKernels-why-row' }, input, button));
    this.node.appendChild(this._whyOut);
    const list = h('ul', { class: 'jp-EnvKernels-treeroot' });
    for (const name of _tree.roots) {
      list.appendChild(this._node(name, null, new Set()));
    }
    this.node.appendChild(list);
  }

  private _node(name: string, spec: string | null, seen: Set<string>): HTMLElement {
    const pkg = this._byName.get(name.toLowerCase());
    const li = h('li', { class: 'jp-EnvKernels-treenode' });
    const label = h('span', { class: 'jp-EnvKernels-treelabel' }, h('b', {}, pkg ? pkg.name : name), ' ', pkg ? pkg.version : 'missing');
    if (spec) {
      label.appendChild(h('span', { class: 'jp-EnvKernels-spec' }, ` (${spec})`));
    }
    li.appendChild(label);
    if (!pkg) {
      li.classList.add('jp-EnvKernels-missing', 'jp-EnvKernels-leaf');
      return li;
    }
    if (pkg.requires.length === 0) {
      li.classList.add('jp-EnvKernels-leaf');
      return li;
    }
    if (seen.has(pkg.name.toLowerCase())) {
      label.appendChild(h('span', { class: 'jp-EnvKernels-spec' }, ' (cycle)'));
      return li;
    }
    li.classList.add('jp-EnvKernels-collapsed');
    let filled = false;
    const children = h('ul');
    label.addEventListener('click', () => {
      if (!filled) {
        const next = new Set(seen).add(pkg.name.toLowerCase());
        for (const r of pkg.requires) {
          const child = this._node(r.name, (r.specifier || 'any') + (r.extra ? ` [${r.extra}]` : ''), next);
          if (!r.satisfied) {
            child.classList.add('jp-EnvKernels-unsatisfied');
          }
          children.appendChild(child);
        }
        filled = true;
      }
      li.classList.toggle('jp-EnvKernels-collapsed');
    });
    li.appendChild(children);
    return li;
  }

  private async _why(name: string): Promise<void> {
    this._whyOut.textContent = '';
    if (!name) {
      return;
    }
    try {
      const answer = await api.tree(this._tree.environment.id, name);
      const paths = answer.why?.paths ?? [];
      const list = h('ul');
      for (const path of paths) {
        list.appendChild(h('li', {}, path.join(' → ')));
      }
      this._whyOut.appendChild(h('p', {}, `${name} is installed because:`));
      this._whyOut.appendChild(paths.length ? list : h('p', {}, 'nothing requires it (it was asked for directly)'));
    } catch (error) {
      this._whyOut.appendChild(h('p', { class: 'jp-EnvKernels-error' }, (error as Error).message));
    }
  }
}

function sideLabel(side: { [key: string]: string }): string {
  return side.type === 'lock' ? `lock ${side.path}` : `${side.name} (${side.id})`;
}

/** Two package sets side by side, with a filter for the rows that differ. */
export class DiffView extends Widget {
  constructor(diff: IDiff) {
    super();
    this.addClass('jp-EnvKernels-diff');
    this.id = `envkernels-diff-${diff.left.id}-${diff.right.id ?? diff.right.path}`;
    this.title.label = `Diff: ${diff.left.name} ↔ ${diff.right.name ?? diff.right.path}`;
    this.title.closable = true;
    const s = diff.summary;
    this.node.appendChild(h('h2', {}, `${sideLabel(diff.left)} ↔ ${sideLabel(diff.right)}`));
    this.node.appendChild(h('p', { class: 'jp-EnvKernels-prefix' },
      `${s['changed'] ?? 0} changed · ${s['only-left'] ?? 0} only left · ${s['only-right'] ?? 0} only right · ${s['same'] ?? 0} same`));
    const toggle = h('input', { type: 'checkbox', id: 'envkernels-diff-only' }) as HTMLInputElement;
    toggle.checked = true;
    this.node.appendChild(h('label', {}, toggle, ' only differences'));
    const table = h('table', { class: 'jp-EnvKernels-table jp-EnvKernels-difftable' });
    table.appendChild(h('tr', {}, h('th', {}, 'package'), h('th', {}, sideLabel(diff.left)), h('th', {}, sideLabel(diff.right))));
    for (const row of diff.rows) {
      table.appendChild(h('tr', { class: `jp-EnvKernels-diff-${row.status}`, 'data-status': row.status },
        h('td', {}, row.name), h('td', {}, row.left ?? '—'), h('td', {}, row.right ?? '—')));
    }
    const apply = () => table.classList.toggle('jp-EnvKernels-onlydiff', toggle.checked);
    toggle.addEventListener('change', apply);
    apply();
    this.node.appendChild(table);
  }
}
