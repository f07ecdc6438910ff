/**
 * A tiny DOM builder (text always set through textContent, never innerHTML), and the pieces of
 * envkernels' one visual language: badges, code spans, fix commands with a copy button.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { copyIcon } from '@jupyterlab/ui-components';

import { Badge, BADGE_HELP, BADGE_TEXT } from './model';

export function h(
  tag: string,
  attrs: { [key: string]: string | undefined } = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined) {
      el.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined) {
      continue;
    }
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** A badge: `unchecked`, `ok`, `warning`, `error`, `not-checked`, `broken` or `unsupported`. */
export function badge(kind: Badge, detail?: string): HTMLElement {
  const help = detail ? `${BADGE_HELP[kind]}: ${detail}` : BADGE_HELP[kind];
  return h('span', { class: `jp-EnvKernels-badge jp-EnvKernels-badge-${kind}`, title: help, 'data-badge': kind }, BADGE_TEXT[kind]);
}

/** A button that copies `text` to the clipboard (and says so for a moment). */
export function copyButton(text: string, what = 'command'): HTMLElement {
  const button = h('button', {
    class: 'jp-EnvKernels-copy',
    type: 'button',
    title: `Copy the ${what}`,
    'aria-label': `Copy ${text}`
  }) as HTMLButtonElement;
  copyIcon.element({ container: button, elementPosition: 'center', height: '14px', width: '14px' });
  button.addEventListener('click', ev => {
    ev.stopPropagation();
    Clipboard.copyToSystem(text);
    button.classList.add('jp-mod-copied');
    button.title = 'Copied';
    window.setTimeout(() => {
      button.classList.remove('jp-mod-copied');
      button.title = `Copy the ${what}`;
    }, 1500);
  });
  return button;
}

/** A command the user can run: monospace, with a copy button. */
export function command(text: string): HTMLElement {
  return h('span', { class: 'jp-EnvKernels-command' }, h('code', {}, text), copyButton(text));
}

/**
 * Text whose `backticked` parts are code: shown as code spans, never as literal backticks. In a
 * hint (`commands: true`) each of them is something to run, so it gets a copy button.
 */
export function richText(text: string, commands = false): DocumentFragment {
  const out = document.createDocumentFragment();
  const parts = text.split('`');
  parts.forEach((part, i) => {
    if (!part) {
      return;
    }
    // an unclosed backtick leaves the rest as text
    const isCode = i % 2 === 1 && i < parts.length - 1;
    if (!isCode) {
      out.appendChild(document.createTextNode(part));
    } else if (commands && /\s/.test(part.trim())) {
      out.appendChild(command(part));
    } else {
      out.appendChild(h('code', {}, part));
    }
  });
  return out;
}

/** An environment's problem and its fix, all of it visible (wrapped, never cut off). */
export function problemBlock(problem: string, hint: string | null): HTMLElement {
  return h('div', { class: 'jp-EnvKernels-problem', role: 'note' },
    h('div', { class: 'jp-EnvKernels-problem-text' }, richText(problem)),
    hint ? h('div', { class: 'jp-EnvKernels-fix' }, h('span', { class: 'jp-EnvKernels-fix-label' }, 'Fix: '), richText(hint, true)) : null
  );
}
