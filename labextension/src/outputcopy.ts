/**
 * Copy buttons on the fix commands of envkernels' notebook outputs (`%envcheck`, `%envaudit`, ...).
 *
 * The kernel sends plain HTML (`<code class="fix">` inside `.envk`), which JupyterLab renders
 * without scripts; where this extension runs, each such command gets the same copy button as in
 * the panel's views (commands only: a lone name is no command). Elsewhere the command is still selected whole with one click (`user-select: all`).
 */
import { NotebookPanel } from '@jupyterlab/notebook';

import { copyButton } from './dom';

function decorate(root: HTMLElement): void {
  for (const code of Array.from(root.querySelectorAll<HTMLElement>('.envk code.fix:not([data-envk-copy])'))) {
    code.dataset.envkCopy = '1';
    if (!/\s/.test((code.textContent ?? '').trim())) {
      continue; // a file or package name, not a command to run
    }
    const button = copyButton(code.textContent ?? '');
    button.classList.add('envk-copy');
    code.after(button);
  }
}

/** Watch a notebook's outputs for envkernels' fix commands. */
export function watchOutputs(panel: NotebookPanel): void {
  let scheduled = false;
  const observer = new MutationObserver(() => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        decorate(panel.content.node);
      });
    }
  });
  observer.observe(panel.content.node, { childList: true, subtree: true });
  decorate(panel.content.node);
  panel.disposed.connect(() => observer.disconnect());
}
