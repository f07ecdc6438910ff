/**
 * Notebooks from another machine: start `envk-<kind>-<slug>-<hash8>` names the listing lacks.
 *
 * JupyterLab auto-starts a notebook's kernel only when its name is in `/api/kernelspecs`
 * (`SessionContext.startKernel` → `getDefaultKernel`); a name saved on another machine is not,
 * so Lab would open "Select Kernel". The server resolves such a name to the local environment
 * of the same kind and project (`GET /api/kernelspecs/{name}`, docs/kernels.md). So when the
 * document sets its kernel preference (synchronously, just before `sessionContext.initialize()`)
 * to an unlisted `envk-` name, we hold the start (`shouldStart: false`, which makes initialize
 * finish without a kernel and without the dialog), ask the server for that spec, and start the
 * session with the name ourselves. When the server does not know the name either, the preference
 * is restored and Lab's own start (and its dialog) runs as it would have.
 */
import { ISessionContext, SessionContext } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { KernelSpec, ServerConnection } from '@jupyterlab/services';

const PREFIX = 'envk-';

/** Whether the server resolves this kernel name (a 200 from `GET api/kernelspecs/{name}`). */
export async function serverKnowsKernel(name: string): Promise<boolean> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'api', 'kernelspecs', encodeURIComponent(name));
  try {
    const response = await ServerConnection.makeRequest(url, {}, settings);
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Watch one notebook panel: the first time its kernel preference names an `envk-` kernel that
 * the listing lacks, start that kernel once the server confirms it resolves the name.
 * `panel.node.dataset.envkernelsPortable` says what happened (`started`, `unknown`, `failed`).
 */
export function watchPortableName(
  panel: NotebookPanel,
  specs: KernelSpec.IManager,
  dialogs: ISessionContext.IDialogs | null
): void {
  const session = panel.sessionContext;
  let handled = false;
  const onPreference = (): void => {
    const pref = session.kernelPreference;
    const name = pref.name;
    if (handled || !name || !name.startsWith(PREFIX) || pref.id || session.session?.kernel) {
      return;
    }
    if (pref.shouldStart === false || pref.canStart === false) {
      return;
    }
    if (specs.specs && specs.specs.kernelspecs[name]) {
      return; // listed: Lab starts it itself
    }
    handled = true;
    session.kernelPreferenceChanged.disconnect(onPreference);
    // Hold Lab's own start until the server has answered (set synchronously, before initialize reads it).
    session.kernelPreference = { ...pref, shouldStart: false };
    void resolveAndStart(panel, name, pref, specs, dialogs);
  };
  session.kernelPreferenceChanged.connect(onPreference);
  onPreference();
}

async function resolveAndStart(
  panel: NotebookPanel,
  name: string,
  original: ISessionContext.IKernelPreference,
  specs: KernelSpec.IManager,
  dialogs: ISessionContext.IDialogs | null
): Promise<void> {
  const session = panel.sessionContext as SessionContext;
  const [known] = await Promise.all([serverKnowsKernel(name), specs.ready, session.ready]);
  if (session.isDisposed) {
    return;
  }
  // Restore what the document asked for, so a later restart or kernel change behaves as usual.
  session.kernelPreference = { ...session.kernelPreference, shouldStart: original.shouldStart };
  if (session.session?.kernel) {
    return; // an existing session on this path was joined: keep it
  }
  if (known || specs.specs?.kernelspecs[name]) {
    try {
      await session.changeKernel({ name });
      panel.node.dataset.envkernelsPortable = 'started';
      return;
    } catch (error) {
      console.warn(`envkernels: could not start kernel ${name}`, error);
      panel.node.dataset.envkernelsPortable = 'failed';
    }
  } else {
    panel.node.dataset.envkernelsPortable = 'unknown';
  }
  // What Lab would have done: its default choice, else the "Select Kernel" dialog.
  const needsSelection = await session.startKernel();
  if (needsSelection && dialogs) {
    await dialogs.selectKernel(session);
  }
}
