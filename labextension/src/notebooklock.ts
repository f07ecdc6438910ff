/**
 * `%envlock --notebook` in a live JupyterLab session: the lock lands in the OPEN notebook.
 *
 * Every notebook panel whose kernel is an envkernels kernel opens a comm to the kernel's target
 * `envkernels` with `{op: "hello", path}` once the kernel is ready (again after a restart or a
 * kernel change; `hello` again after a rename). The kernel then sends the lock here instead of
 * writing the notebook file, so the file on disk never races the open document: the lock goes
 * into the model's `metadata.envkernels` (which marks the document dirty), the user's unsaved
 * edits stay, and the next save writes both. Without this link (nbclient, another frontend) the
 * kernel keeps writing the file.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';

/** The comm target the kernel side (`envkernels_kernel.py`) registers. */
export const COMM_TARGET = 'envkernels';
/** The notebook metadata key envkernels owns (`lockfiles/notebook.py`). */
export const METADATA_KEY = 'envkernels';
export const SAVED_HINT = "Lock stored in the notebook's metadata; save to keep it";

/** Whether a kernel (by kernelspec name) is one envkernels started (its magics are there). */
export type KernelTest = (kernelName: string) => Promise<boolean>;

/** Put a lock received from the kernel into the notebook model (other `envkernels` keys kept). */
export function storeLock(panel: NotebookPanel, lock: string, environment: unknown): boolean {
  const model = panel.content.model;
  if (!model) {
    return false;
  }
  const existing = model.getMetadata(METADATA_KEY);
  const entry =
    existing && typeof existing === 'object' && !Array.isArray(existing) ? { ...(existing as object) } : {};
  model.setMetadata(METADATA_KEY, { ...entry, lock, environment: environment ?? null });
  return true;
}

/**
 * The link between one notebook panel and its kernel. `panel.node.dataset.envkernelsLink` says
 * its state (`open`, `refused`, `none`), which the browser tests wait for.
 */
export class NotebookLockLink {
  private _comm: Kernel.IComm | null = null;
  private _commKernel: Kernel.IKernelConnection | null = null;
  // The kernel closed our comm (no target registered): do not reopen until it restarts or changes.
  private _refused = false;
  private _opening = false;
  // The kernel connection found not to be envkernels' (asked once, not on every idle).
  private _notOurs: Kernel.IKernelConnection | null = null;

  constructor(
    private _panel: NotebookPanel,
    private _isEnvKernel: KernelTest
  ) {
    const session = _panel.sessionContext;
    session.kernelChanged.connect(this._onKernelChanged, this);
    session.statusChanged.connect(this._onStatus, this);
    _panel.context.pathChanged.connect(this._onPath, this);
    _panel.disposed.connect(this._dispose, this);
    this._state('none');
    void session.ready.then(() => this._ensure());
  }

  private _state(value: 'open' | 'refused' | 'none'): void {
    this._panel.node.dataset.envkernelsLink = value;
  }

  private _onKernelChanged(): void {
    this._drop(true);
    this._refused = false;
    void this._ensure();
  }

  private _onStatus(_: unknown, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
      // a restarted kernel has forgotten every comm (the connection disposes them too)
      this._drop(false);
      this._refused = false;
      return;
    }
    if (status === 'idle') {
      void this._ensure();
    }
  }

  private _onPath(_: unknown, path: string): void {
    if (this._comm && !this._comm.isDisposed) {
      this._comm.send({ op: 'hello', path });
    }
  }

  private _dispose(): void {
    this._drop(true);
    this._panel.sessionContext.kernelChanged.disconnect(this._onKernelChanged, this);
    this._panel.sessionContext.statusChanged.disconnect(this._onStatus, this);
  }

  /** Forget the comm; `close`: also tell the kernel (when its connection still lives). */
  private _drop(close: boolean): void {
    const comm = this._comm;
    this._comm = null;
    this._commKernel = null;
    if (!this._panel.isDisposed) {
      this._state('none');
    }
    if (close && comm && !comm.isDisposed) {
      try {
        comm.close();
      } catch {
        // the old kernel's connection is gone; nothing to tell
      }
    }
  }

  /** Open the comm if this panel's kernel is an envkernels kernel and none is open. */
  private async _ensure(): Promise<void> {
    const kernel = this._panel.sessionContext.session?.kernel;
    if (!kernel || kernel.isDisposed || this._refused || this._opening || kernel === this._notOurs) {
      return;
    }
    if (this._comm && !this._comm.isDisposed && this._commKernel === kernel) {
      return;
    }
    this._opening = true;
    try {
      if (!(await this._isEnvKernel(kernel.name))) {
        this._notOurs = kernel;
        return;
      }
      if (kernel.isDisposed || kernel !== this._panel.sessionContext.session?.kernel) {
        return;
      }
      const comm = kernel.createComm(COMM_TARGET);
      comm.onMsg = msg => this._onMessage(comm, msg);
      comm.onClose = () => {
        if (this._comm === comm) {
          // closed by the kernel: its target is not registered (an older envkernels in it)
          this._comm = null;
          this._refused = true;
          this._state('refused');
        }
      };
      this._comm = comm;
      this._commKernel = kernel;
      await comm.open({ op: 'hello', path: this._panel.context.path }).done;
      if (this._comm === comm) {
        this._state('open');
      }
    } catch (error) {
      console.warn('envkernels: no lock link to the kernel', error);
    } finally {
      this._opening = false;
    }
  }

  private _onMessage(comm: Kernel.IComm, msg: KernelMessage.ICommMsgMsg): void {
    const data = msg.content.data as { op?: string; lock?: unknown; environment?: unknown };
    if (data.op !== 'notebook-lock' || typeof data.lock !== 'string' || !data.lock) {
      return;
    }
    if (!storeLock(this._panel, data.lock, data.environment)) {
      return;
    }
    Notification.success(SAVED_HINT, { autoClose: 6000 });
    if (!comm.isDisposed) {
      comm.send({ op: 'ack', path: this._panel.context.path });
    }
  }
}
