/** A tiny DOM builder: plain elements, text always set through textContent (never innerHTML). */
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

/** A badge element: `ok`, `drift`, `vulnerable`, `broken` or `unknown`. */
export function badge(kind: string): HTMLElement {
  return h('span', { class: `jp-EnvKernels-badge jp-EnvKernels-badge-${kind}`, title: kind }, kind);
}
