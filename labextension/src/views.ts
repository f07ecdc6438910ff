/**
 * The pictures the Environment view shows, built from the JSON the server sent, in envkernels'
 * one visual language (the same classes as the notebook outputs, `jp-EnvKernels-*`): findings,
 * vulnerabilities, licenses, a sync plan, the dependency tree and a diff.
 */
import { IDiff, IDiffSide, IPackageNode, IReport, ISource, ISyncAnswer, ITree, api } from './api';
import { h, problemBlock, richText } from './dom';

function table(cls: string, headers: string[]): { table: HTMLElement; body: HTMLElement } {
  const body = h('tbody');
  const t = h('table', { class: `jp-EnvKernels-table ${cls}` },
    h('thead', {}, h('tr', {}, ...headers.map(text => h('th', { scope: 'col' }, text)))),
    body
  );
  return { table: t, body };
}

const mono = (text: string | null | undefined, cls = ''): HTMLElement =>
  h('td', { class: `jp-EnvKernels-mono ${cls}`.trim() }, text ?? '');

/** An empty state that says what it means. */
export function empty(text: string): HTMLElement {
  return h('p', { class: 'jp-EnvKernels-empty' }, text);
}

/** An error answer of the API: the whole problem, and its fix with a copy button. */
export function errorBlock(error: unknown): HTMLElement {
  const e = error as { message?: string; hint?: string | null };
  const block = problemBlock(`error: ${e.message ?? String(error)}`, e.hint ?? null);
  block.classList.add('jp-EnvKernels-error');
  return block;
}

/** Findings, vulnerabilities and licenses of one or more reports (a check, an audit). */
export function renderReport(reports: IReport[]): HTMLElement {
  const out = h('div', { class: 'jp-EnvKernels-report' });
  const vulns = reports.flatMap(r => r.vulnerabilities || []);
  // a vulnerability's finding repeats a row of the vulnerabilities table below
  const findings = reports.flatMap(r => r.findings).filter(f => f.code !== 'vulnerability');
  const licenses = reports.flatMap(r => r.licenses || []);
  const unchecked = reports.some(r => r.checked === false);
  if (unchecked) {
    out.appendChild(h('p', { class: 'jp-EnvKernels-notchecked', role: 'note' },
      'Not checked: some packages could not be looked up (see below). This is no all-clear.'));
  }
  if (findings.length === 0 && vulns.length === 0 && !unchecked) {
    out.appendChild(empty('No findings: nothing to report.'));
  }
  if (findings.length > 0) {
    const { table: t, body } = table('jp-EnvKernels-findings', ['Severity', 'Code', 'Package', 'Message', 'Fix']);
    for (const f of findings) {
      body.appendChild(
        h('tr', { class: `jp-EnvKernels-sev-${f.severity}`, 'data-code': f.code },
          h('td', {}, h('span', { class: `jp-EnvKernels-sev jp-EnvKernels-sev-label-${f.severity}` }, f.severity)),
          mono(f.code), mono(f.package),
          h('td', {}, richText(f.message)),
          h('td', { class: 'jp-EnvKernels-fix' }, f.hint ? richText(f.hint, true) : ''))
      );
    }
    out.appendChild(t);
  }
  if (vulns.length > 0) {
    const advisories = new Set(vulns.map(v => v.id)).size;
    out.appendChild(h('h3', {}, `Vulnerabilities: ${advisories} advisor${advisories === 1 ? 'y' : 'ies'}`));
    const { table: t, body } = table('jp-EnvKernels-vulns', ['Package', 'Version', 'Advisory', 'Fixed in', 'Summary']);
    for (const v of vulns) {
      body.appendChild(h('tr', {}, mono(v.package), mono(v.version), mono(v.id),
        mono((v.fixed_in || []).join(', ') || 'no fix yet'), h('td', {}, richText(v.summary || ''))));
    }
    out.appendChild(t);
  }
  if (licenses.length > 0) {
    out.appendChild(h('h3', {}, 'Licenses'));
    const { table: t, body } = table('jp-EnvKernels-licenses', ['Package', 'Version', 'License', 'Status']);
    for (const l of licenses) {
      body.appendChild(h('tr', { class: `jp-EnvKernels-lic-${l.status}` }, mono(l.package), mono(l.version),
        h('td', {}, l.license ?? 'unknown'), h('td', {}, h('span', { class: `jp-EnvKernels-sev jp-EnvKernels-lic-label-${l.status}` }, l.status))));
    }
    out.appendChild(t);
  }
  return out;
}

const PLAN_PARTS: [keyof ISyncAnswer['plan'], string, string][] = [
  ['install', 'install', '+'],
  ['upgrade', 'upgrade', '↑'],
  ['downgrade', 'downgrade', '↓'],
  ['reinstall', 'reinstall', '↻'],
  ['remove', 'remove', '−']
];

/** A sync plan as a table; packages that are not plain index downloads are marked. */
export function renderPlan(answer: ISyncAnswer): HTMLElement {
  const out = h('div', { class: 'jp-EnvKernels-plan' });
  const plan = answer.plan;
  const sources = new Map<string, ISource[]>();
  for (const s of plan.sources ?? []) {
    if (s.kind !== 'index') {
      const key = s.name.toLowerCase().replace(/[-_.]+/g, '-');
      sources.set(key, [...(sources.get(key) ?? []), s]);
    }
  }
  if (plan.is_empty) {
    out.appendChild(empty(`Nothing to do: the environment already matches the lock (${plan.unchanged} packages).`));
    return out;
  }
  const { table: t, body } = table('jp-EnvKernels-plantable', ['Change', 'Package', 'From', 'To', 'Source']);
  for (const [key, label, sign] of PLAN_PARTS) {
    for (const change of (plan[key] as { name: string; from?: string; to?: string }[]) ?? []) {
      const marks = sources.get(change.name.toLowerCase().replace(/[-_.]+/g, '-')) ?? [];
      const sourceCell = h('td', {});
      for (const s of marks) {
        const build = s.kind === 'sdist' || s.kind === 'build';
        sourceCell.appendChild(h('span', {
          class: `jp-EnvKernels-source ${build ? 'jp-EnvKernels-source-build' : 'jp-EnvKernels-source-direct'}`,
          title: build ? 'built from source on this machine' : 'a direct source, not the package index'
        }, `${build ? 'build' : 'direct'}: ${s.kind} ${s.where}`));
      }
      if (!marks.length) {
        sourceCell.appendChild(document.createTextNode('index'));
      }
      body.appendChild(h('tr', { class: `jp-EnvKernels-plan-${key}`, 'data-change': key },
        h('td', {}, `${sign} ${label}`), mono(change.name), mono(change.from ?? ''), mono(change.to ?? ''), sourceCell));
    }
  }
  out.appendChild(t);
  out.appendChild(h('p', { class: 'jp-EnvKernels-muted' }, `${plan.unchanged} packages unchanged.`));
  for (const w of plan.warnings ?? []) {
    out.appendChild(h('p', { class: 'jp-EnvKernels-warning' }, richText(w)));
  }
  if (answer.refused?.length) {
    out.appendChild(h('p', { class: 'jp-EnvKernels-warning' },
      `This server refuses ${answer.refused.length} of these sources; applying will fail: ` +
      answer.refused.map(s => `${s.name} (${s.kind})`).join(', ')));
  }
  return out;
}

/** What pulls in what: the packages nothing requires at the top, each expandable; plus "why is X here". */
export class TreeBrowser {
  readonly node: HTMLElement;
  private _byName = new Map<string, IPackageNode>();
  private _whyOut: HTMLElement;

  constructor(private _tree: ITree) {
    for (const p of _tree.packages) {
      this._byName.set(p.name.toLowerCase(), p);
    }
    this.node = h('div', { class: 'jp-EnvKernels-tree' });
    this.node.appendChild(h('p', { class: 'jp-EnvKernels-muted' },
      `${_tree.packages.length} packages, ${_tree.roots.length} not required by any other.`));
    const input = h('input', {
      type: 'text',
      placeholder: 'package name',
      'aria-label': 'Why is this package installed?',
      class: 'jp-EnvKernels-input jp-EnvKernels-why-input'
    }) as HTMLInputElement;
    const button = h('button', { class: 'jp-mod-styled jp-mod-accept', type: 'button' }, 'Why is it installed?');
    this._whyOut = h('div', { class: 'jp-EnvKernels-why', 'aria-live': 'polite' });
    const ask = () => void this._why(input.value.trim());
    button.addEventListener('click', ask);
    input.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        ask();
      }
    });
    this.node.appendChild(h('div', { class: 'jp-EnvKernels-formrow' }, input, button));
    this.node.appendChild(this._whyOut);
    const list = h('ul', { class: 'jp-EnvKernels-treeroot', role: 'tree', 'aria-label': 'Dependency tree' });
    for (const name of _tree.roots) {
      list.appendChild(this._node(name, null, new Set()));
    }
    if (!_tree.roots.length) {
      this.node.appendChild(empty('No packages installed.'));
    }
    this.node.appendChild(list);
  }

  private _node(name: string, spec: string | null, seen: Set<string>): HTMLElement {
    const pkg = this._byName.get(name.toLowerCase());
    const li = h('li', { class: 'jp-EnvKernels-treenode', role: 'treeitem' });
    const label = h('span', { class: 'jp-EnvKernels-treelabel', tabindex: '0' },
      h('span', { class: 'jp-EnvKernels-mono jp-EnvKernels-pkg' }, pkg ? pkg.name : name), ' ',
      h('span', { class: 'jp-EnvKernels-mono jp-EnvKernels-version' }, pkg ? pkg.version : 'missing'));
    if (spec) {
      label.appendChild(h('span', { class: 'jp-EnvKernels-mono jp-EnvKernels-spec' }, ` ${spec}`));
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
    li.setAttribute('aria-expanded', 'false');
    let filled = false;
    const children = h('ul', { role: 'group' });
    const toggle = () => {
      if (!filled) {
        const next = new Set(seen).add(pkg.name.toLowerCase());
        for (const r of pkg.requires) {
          const child = this._node(r.name, (r.specifier || 'any') + (r.extra ? ` [${r.extra}]` : ''), next);
          if (!r.satisfied) {
            child.classList.add('jp-EnvKernels-unsatisfied');
            child.querySelector('.jp-EnvKernels-treelabel')?.appendChild(h('span', { class: 'jp-EnvKernels-sev jp-EnvKernels-sev-label-error' }, 'not satisfied'));
          }
          children.appendChild(child);
        }
        filled = true;
      }
      const collapsed = li.classList.toggle('jp-EnvKernels-collapsed');
      li.setAttribute('aria-expanded', String(!collapsed));
    };
    label.addEventListener('click', toggle);
    label.addEventListener('keydown', ev => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        toggle();
      }
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
      const list = h('ul', { class: 'jp-EnvKernels-whypaths' });
      for (const path of paths) {
        list.appendChild(h('li', { class: 'jp-EnvKernels-mono' }, path.join(' → ')));
      }
      this._whyOut.appendChild(h('p', {}, h('code', {}, name), ' is installed because:'));
      this._whyOut.appendChild(paths.length ? list : empty('nothing requires it: it was asked for directly'));
    } catch (error) {
      this._whyOut.appendChild(errorBlock(error));
    }
  }
}

export function sideLabel(side: IDiffSide): string {
  return side.type === 'lock' ? `lock ${side.path}` : side.name ?? side.id ?? '';
}

/** Two package sets side by side, with a filter for the rows that differ. */
export function renderDiff(diff: IDiff): HTMLElement {
  const out = h('div', { class: 'jp-EnvKernels-diff' });
  const s = diff.summary;
  const differing = (s['changed'] ?? 0) + (s['only-left'] ?? 0) + (s['only-right'] ?? 0);
  out.appendChild(h('p', { class: 'jp-EnvKernels-muted' },
    `${s['changed'] ?? 0} changed · ${s['only-left'] ?? 0} only in ${sideLabel(diff.left)} · ` +
    `${s['only-right'] ?? 0} only in ${sideLabel(diff.right)} · ${s['same'] ?? 0} same`));
  if (differing === 0) {
    out.appendChild(empty(diff.right.type === 'lock'
      ? `Identical: the environment matches the lock (${s['same'] ?? 0} packages).`
      : `Identical environments: the same ${s['same'] ?? 0} packages at the same versions.`));
    return out;
  }
  const toggle = h('input', { type: 'checkbox', class: 'jp-EnvKernels-diff-only' }) as HTMLInputElement;
  toggle.checked = true;
  out.appendChild(h('label', { class: 'jp-EnvKernels-check' }, toggle, ' only differences'));
  const { table: t, body } = table('jp-EnvKernels-difftable', ['Package', sideLabel(diff.left), sideLabel(diff.right), 'Status']);
  for (const row of diff.rows) {
    body.appendChild(h('tr', { class: `jp-EnvKernels-diff-${row.status}`, 'data-status': row.status },
      mono(row.name), mono(row.left ?? '—'), mono(row.right ?? '—'),
      h('td', {}, h('span', { class: `jp-EnvKernels-sev jp-EnvKernels-diffmark-${row.status}` }, row.status))));
  }
  const apply = () => t.classList.toggle('jp-EnvKernels-onlydiff', toggle.checked);
  toggle.addEventListener('change', apply);
  apply();
  out.appendChild(t);
  return out;
}
