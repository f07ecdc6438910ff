/**
 * envkernels for JupyterLab: the Environments sidebar, the kernel status item, and commands
 * that open notebooks and consoles on an environment, check, audit, lock, sync, and show its
 * dependency tree or a diff.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Clipboard, Dialog, ICommandPalette, ISessionContextDialogs, MainAreaWidget, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';

import { api, IEnvironment } from './api';
import { h, problemBlock } from './dom';
import { EnvironmentView, Tab } from './envview';
import { EnvironmentsModel } from './model';
import { canStart, CommandIDs, EnvironmentsPanel, TEAM_HELP } from './panel';
import { NotebookLockLink } from './notebooklock';
import { watchOutputs } from './outputcopy';
import { watchPortableName } from './portable';
import { KernelEnvStatus } from './status';
import { errorBlock } from './views';

const PANEL_ICON = new LabIcon({
  name: 'envkernels:environments',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161"><path d="M4 5h16v4H4zM4 10.5h16v4H4zM4 16h16v4H4z" opacity=".35"/>' +
    '<circle cx="7" cy="7" r="1.3"/><circle cx="7" cy="12.5" r="1.3"/><circle cx="7" cy="18" r="1.3"/></g></svg>'
});

/** The context menu of a row and the palette, in this order (a separator between the parts). */
const ROW_MENU: string[][] = [
  [CommandIDs.openNotebook, CommandIDs.openConsole],
  [CommandIDs.open, CommandIDs.check, CommandIDs.audit, CommandIDs.tree, CommandIDs.diff],
  [CommandIDs.lock, CommandIDs.sync, CommandIDs.fork],
  [CommandIDs.copyPath]
];

/** The dialog of a kernel that would not start: all of the problem, and its fix with a copy button. */
async function showStartFailure(env: IEnvironment, error: unknown): Promise<void> {
  const text = String((error as Error)?.message ?? error);
  // envkernels' provisioner says `<problem>. hint: <fix>` (docs/kernels.md)
  const at = text.indexOf('. hint: ');
  const problem = at >= 0 ? text.slice(0, at) : text;
  const hint = at >= 0 ? text.slice(at + 8) : env.hint;
  const body = problemBlock(problem, hint ?? null);
  body.classList.add('jp-EnvKernels-startfailure');
  await showDialog({
    title: `The kernel of ${env.name} cannot start`,
    body: new Widget({ node: body }),
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'envkernels:plugin',
  description: 'Environments panel, Environment view and kernel status item for envkernels.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IStatusBar, ICommandPalette, ISessionContextDialogs],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    sessionDialogs: ISessionContextDialogs | null
  ) => {
    const model = new EnvironmentsModel();
    const { commands, serviceManager } = app;
    const kindLogo = new Map<string, string>();
    const logo = (env: IEnvironment): string | undefined => {
      const spec = serviceManager.kernelspecs.specs?.kernelspecs[env.kernel_name];
      const url = spec?.resources['logo-svg'] || spec?.resources['logo-64x64'] || spec?.resources['logo-32x32'];
      if (url) {
        kindLogo.set(env.kind, url);
      }
      // an environment that cannot start has no kernelspec: its kind's logo still tells what it is
      return url || kindLogo.get(env.kind);
    };
    let panel: EnvironmentsPanel | null = null;
    /**
     * The environment a command acts on: its `id` argument, else the row the context menu was
     * opened on, else the panel's selection (the palette).
     */
    const target = (args: any): IEnvironment | undefined => {
      if (args && args.id) {
        return model.byId(String(args.id));
      }
      const node = app.contextMenuHitTest(n => n.classList.contains('jp-EnvKernels-item'));
      if (node?.dataset.envId) {
        return model.byId(node.dataset.envId);
      }
      return panel?.selected;
    };
    const envArg = (args: any): IEnvironment => {
      const env = target(args);
      if (!env) {
        throw new Error('no environment selected: select one in the Environments panel');
      }
      return env;
    };
    const views = new Map<string, MainAreaWidget<EnvironmentView>>();
    /** Open (or bring forward) the one Environment view of `env`, on `tab`. */
    const openView = async (env: IEnvironment, tab: Tab, options: { rerun?: boolean; notebook?: string } = {}) => {
      let widget = views.get(env.id);
      if (!widget || widget.isDisposed) {
        const content = new EnvironmentView(env, model);
        widget = new MainAreaWidget({ content });
        widget.id = content.id;
        widget.title.label = content.title.label;
        widget.title.caption = content.title.caption;
        widget.title.icon = PANEL_ICON;
        widget.title.closable = true;
        views.set(env.id, widget);
        app.shell.add(widget, 'main');
      }
      app.shell.activateById(widget.id);
      await widget.content.showTab(tab, options);
    };
    const envCommand = (
      id: string,
      label: string,
      caption: string | ((env: IEnvironment | undefined) => string),
      execute: (env: IEnvironment, args: any) => unknown,
      enabledFor: (env: IEnvironment) => boolean = () => true
    ) =>
      commands.addCommand(id, {
        label,
        caption: typeof caption === 'string' ? caption : args => caption(target(args)),
        isEnabled: args => {
          const env = target(args);
          return !!env && enabledFor(env);
        },
        execute: args => execute(envArg(args), args) as any
      });

    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Environments',
      caption: 'Rescan for environments; new ones appear in the launcher at once',
      execute: async () => {
        await model.load(true);
        await serviceManager.kernelspecs.refreshSpecs();
      }
    });
    commands.addCommand(CommandIDs.filter, {
      label: 'Filter Environments',
      caption: 'Show the Environments panel and put the cursor in its filter box',
      execute: () => {
        if (panel) {
          app.shell.activateById(panel.id);
          panel.focusFilter();
        }
      }
    });
    /**
     * Start the environment's kernel first, and only then open the notebook or console on it: a
     * start that fails shows the whole problem and its fix (copyable), and leaves no empty
     * notebook behind.
     */
    const startThenOpen = async (env: IEnvironment, open: (kernelId: string) => Promise<unknown>) => {
      let kernel;
      try {
        kernel = await serviceManager.kernels.startNew({ name: env.kernel_name });
      } catch (error) {
        await showStartFailure(env, error);
        return;
      }
      try {
        return await open(kernel.id);
      } catch (error) {
        kernel.shutdown().catch(() => undefined);
        throw error;
      }
    };
    envCommand(CommandIDs.openNotebook, 'New Notebook on Environment', 'Open a new notebook on this environment\'s kernel',
      env => startThenOpen(env, kernelId => commands.execute('notebook:create-new', { kernelId, kernelName: env.kernel_name })), canStart);
    envCommand(CommandIDs.openConsole, 'New Console on Environment', 'Open a console on this environment\'s kernel',
      env => startThenOpen(env, kernelId => commands.execute('console:create', { kernelPreference: { id: kernelId, name: env.kernel_name } })), canStart);
    envCommand(CommandIDs.open, 'Open Environment', 'Open the Environment view', env => openView(env, 'overview'));
    envCommand(CommandIDs.check, 'Check Environment', 'Broken requirements, drift from its lock, …',
      (env, args) => openView(env, 'check', { rerun: true, notebook: args.notebook ? String(args.notebook) : undefined }));
    envCommand(CommandIDs.details, 'Environment Details', 'The check of this notebook\'s environment',
      (env, args) => openView(env, 'check', { notebook: args.notebook ? String(args.notebook) : '' }));
    envCommand(CommandIDs.audit, 'Audit Environment', 'Known vulnerabilities (and licenses)', env => openView(env, 'audit', { rerun: true }));
    envCommand(CommandIDs.tree, 'Show Dependency Tree', 'What pulls in what', env => openView(env, 'tree'));
    envCommand(CommandIDs.diff, 'Compare Environment…', 'With another environment or a lockfile', env => openView(env, 'diff'));
    envCommand(CommandIDs.lock, 'Lock Environment…', 'Write a pylock.toml of what is installed', env => openView(env, 'lock'));
    // a shared (team) environment is read-only: the server refuses its sync; forking is the way
    envCommand(CommandIDs.sync, 'Sync Environment to a Lock…',
      env => (env?.shared ? `${TEAM_HELP} (Fork Environment…)` : 'Shows the plan first'),
      env => openView(env, 'sync'), env => !env.shared);
    envCommand(CommandIDs.fork, 'Fork Environment…',
      env => (env?.shared ? 'Make your own copy of this team environment, from its exact lock' : 'Only team (shared) environments are forked'),
      env => forkEnvironment(env), env => !!env.shared);
    envCommand(CommandIDs.copyPath, 'Copy Environment Path', 'Copy the environment\'s folder', env => Clipboard.copyToSystem(env.prefix));

    /**
     * Fork a shared environment into the user's forks directory, after a dialog whose Cancel has
     * the focus; the fork is then in the panel, the launcher and the kernel picker.
     */
    const forkEnvironment = async (env: IEnvironment): Promise<void> => {
      const body = h('div', { class: 'jp-EnvKernels-forkdialog' },
        h('p', {}, `Create your own environment from ${env.name}'s exact lock, in your forks folder, registered as a kernel.`),
        h('p', { class: 'jp-EnvKernels-muted' }, 'The team environment is not changed. Packages are installed from the package index; this may take a while.'));
      const answer = await showDialog({
        title: `Fork ${env.name}?`,
        body: new Widget({ node: body }),
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Fork' })],
        // creating an environment is never the default: Enter cancels
        defaultButton: 0
      });
      if (!answer.button.accept) {
        return;
      }
      const progress = Notification.emit(`Forking ${env.name}…`, 'in-progress', { autoClose: false });
      let made: IEnvironment;
      try {
        made = (await api.fork(env.id)).environment;
      } catch (error) {
        Notification.dismiss(progress);
        const block = errorBlock(error);
        block.classList.add('jp-EnvKernels-forkfailure');
        await showDialog({
          title: `${env.name} could not be forked`,
          body: new Widget({ node: block }),
          buttons: [Dialog.okButton({ label: 'Close' })]
        });
        return;
      }
      await model.load(true);
      await serviceManager.kernelspecs.refreshSpecs();
      Notification.update({ id: progress, message: `Forked ${env.name} into ${made.name} (${made.prefix})`, type: 'success', autoClose: 8000 });
      panel?.reveal(made.id);
    };

    panel = new EnvironmentsPanel(model, commands, logo);
    panel.title.icon = PANEL_ICON;
    ROW_MENU.forEach((part, i) => {
      part.forEach((command, j) =>
        app.contextMenu.addItem({ command, selector: '#envkernels-panel .jp-EnvKernels-item', rank: 100 + i * 10 + j })
      );
      if (i < ROW_MENU.length - 1) {
        app.contextMenu.addItem({ type: 'separator', selector: '#envkernels-panel .jp-EnvKernels-item', rank: 100 + i * 10 + 9 });
      }
    });
    app.shell.add(panel, 'left', { rank: 750 });
    serviceManager.kernelspecs.specsChanged.connect(() => model.notify());

    if (statusBar) {
      const item = new KernelEnvStatus(tracker, model, (env, notebook) =>
        void commands.execute(CommandIDs.details, { id: env.id, notebook: notebook ?? '' })
      );
      statusBar.registerStatusItem('envkernels:kernel-environment', {
        item,
        align: 'left',
        rank: 5
      });
    }
    if (palette) {
      for (const command of [CommandIDs.refresh, CommandIDs.filter, ...ROW_MENU.flat()]) {
        palette.addItem({ command, category: 'Environments' });
      }
    }
    // `%envlock --notebook` sends its lock over a comm into the open notebook (notebooklock.ts).
    const isEnvKernel = async (name: string): Promise<boolean> => {
      await serviceManager.kernelspecs.ready;
      const spec = serviceManager.kernelspecs.specs?.kernelspecs[name];
      return !!spec?.metadata?.envkernels || name.startsWith('envk-');
    };
    tracker.forEach(panel => new NotebookLockLink(panel, isEnvKernel));
    tracker.widgetAdded.connect((_, panel) => new NotebookLockLink(panel, isEnvKernel));
    tracker.forEach(watchOutputs);
    tracker.widgetAdded.connect((_, panel) => watchOutputs(panel));
    // A notebook saved on another machine names `envk-<kind>-<slug>-<other hash>`: start it on the
    // local environment the server resolves it to, instead of asking (portable.ts).
    tracker.widgetAdded.connect((_, panel) => watchPortableName(panel, serviceManager.kernelspecs, sessionDialogs));
    void model.load();
  }
};

export default plugin;
