/**
 * envkernels for JupyterLab: the Environments sidebar, the kernel status item, and commands
 * that open notebooks and consoles on an environment, check, audit, lock, sync, and show its
 * dependency tree or a diff.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  ISessionContextDialogs,
  MainAreaWidget,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { api, EnvKernelsApiError, IEnvironment, IReport } from './api';
import { h } from './dom';
import { badgeOf, EnvironmentsModel } from './model';
import { CommandIDs, EnvironmentsPanel } from './panel';
import { NotebookLockLink } from './notebooklock';
import { watchPortableName } from './portable';
import { KernelEnvStatus } from './status';
import { DiffView, ReportView, TreeView } from './views';

const PANEL_ICON = new LabIcon({
  name: 'envkernels:environments',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161"><path d="M4 5h16v4H4zM4 10.5h16v4H4zM4 16h16v4H4z" opacity=".35"/>' +
    '<circle cx="7" cy="7" r="1.3"/><circle cx="7" cy="12.5" r="1.3"/><circle cx="7" cy="18" r="1.3"/></g></svg>'
});

function fail(title: string, error: unknown): void {
  const e = error as EnvKernelsApiError;
  const hint = e.hint ? `\nhint: ${e.hint}` : '';
  void showErrorMessage(title, `error: ${e.message}${hint}`);
}

function show(app: JupyterFrontEnd, content: Widget): void {
  const widget = new MainAreaWidget({ content });
  widget.id = content.id;
  widget.title.label = content.title.label;
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(widget.id);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'envkernels:plugin',
  description: 'Environments panel, kernel status item, dependency tree and diff views for envkernels.',
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
    const envArg = (args: any): IEnvironment => {
      const env = model.byId(String(args.id));
      if (!env) {
        throw new Error(`no environment ${args.id}`);
      }
      return env;
    };
    const logo = (env: IEnvironment): string | undefined => {
      const spec = serviceManager.kernelspecs.specs?.kernelspecs[env.kernel_name];
      return spec?.resources['logo-svg'] || spec?.resources['logo-64x64'] || spec?.resources['logo-32x32'];
    };
    const guess = (env: IEnvironment, file: string): string =>
      env.project_path && env.project_path !== '.' ? `${env.project_path}/${file}` : file;

    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Environments',
      caption: 'Rescan for environments; new ones appear in the launcher at once',
      execute: async () => {
        await model.load(true);
        await serviceManager.kernelspecs.refreshSpecs();
      }
    });
    commands.addCommand(CommandIDs.openNotebook, {
      label: 'New Notebook on Environment',
      execute: args => commands.execute('notebook:create-new', { kernelName: envArg(args).kernel_name })
    });
    commands.addCommand(CommandIDs.openConsole, {
      label: 'New Console on Environment',
      execute: args => commands.execute('console:create', { kernelPreference: { name: envArg(args).kernel_name } })
    });
    const openReport = async (
      env: IEnvironment,
      title: string,
      load: () => Promise<{ check?: IReport; audit?: IReport }>
    ) => {
      try {
        const { check, audit } = await load();
        const reports = [check, audit].filter((r): r is IReport => !!r);
        show(app, new ReportView(env, title, reports, badgeOf(env, check, audit)));
      } catch (error) {
        fail(`${title} of ${env.name} failed`, error);
      }
    };
    commands.addCommand(CommandIDs.check, {
      label: 'Check Environment',
      execute: args => {
        const env = envArg(args);
        return openReport(env, 'Check', async () => {
          const check = await api.check(env.id, args.notebook ? String(args.notebook) : undefined);
          model.setCheck(env.id, check);
          return { check };
        });
      }
    });
    commands.addCommand(CommandIDs.audit, {
      label: 'Audit Environment',
      execute: args => {
        const env = envArg(args);
        return openReport(env, 'Audit', async () => {
          const audit = await api.audit(env.id);
          model.setAudit(env.id, audit);
          return { audit };
        });
      }
    });
    commands.addCommand(CommandIDs.details, {
      label: 'Environment Details',
      execute: args => {
        const env = envArg(args);
        const notebook = args.notebook ? String(args.notebook) : undefined;
        return openReport(env, 'Details', async () => {
          const check = await api.check(env.id, notebook);
          model.setCheck(env.id, check);
          try {
            const audit = await api.audit(env.id);
            model.setAudit(env.id, audit);
            return { check, audit };
          } catch {
            // an audit needs advisories; without them the details still show the check
            return { check };
          }
        });
      }
    });
    commands.addCommand(CommandIDs.lock, {
      label: 'Lock Environment',
      execute: async args => {
        const env = envArg(args);
        const path = await InputDialog.getText({
          title: `Lock ${env.name} into (relative to the server root)`,
          text: guess(env, 'pylock.toml')
        });
        if (!path.button.accept || !path.value) {
          return;
        }
        try {
          const answer = await api.lock(env.id, path.value);
          const warnings = answer.warnings.length ? `\n\n${answer.warnings.join('\n')}` : '';
          await showDialog({
            title: 'Locked',
            body: `${answer.packages} packages written to ${answer.relative_path ?? answer.path}${warnings}`,
            buttons: [Dialog.okButton()]
          });
        } catch (error) {
          fail(`Lock of ${env.name} failed`, error);
        }
      }
    });
    commands.addCommand(CommandIDs.sync, {
      label: 'Sync Environment to a Lock',
      execute: async args => {
        const env = envArg(args);
        const lock = await InputDialog.getText({
          title: `Sync ${env.name} to the lock (relative to the server root)`,
          text: guess(env, 'pylock.toml')
        });
        if (!lock.button.accept || !lock.value) {
          return;
        }
        try {
          const plan = await api.sync(env.id, lock.value, true);
          if (plan.plan.is_empty) {
            await showDialog({ title: 'Nothing to do', body: plan.text, buttons: [Dialog.okButton()] });
            return;
          }
          const body = h('pre', { class: 'jp-EnvKernels-plan' }, plan.text);
          const answer = await showDialog({
            title: `Apply this plan to ${env.name}?`,
            body: new Widget({ node: body }),
            buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Apply' })]
          });
          if (!answer.button.accept) {
            return;
          }
          const done = await api.sync(env.id, lock.value, false);
          const restart = done.restart_needed?.length ? `\n\nRestart kernels using: ${done.restart_needed.join(', ')}` : '';
          await showDialog({ title: 'Synced', body: `${done.text}${restart}`, buttons: [Dialog.okButton()] });
        } catch (error) {
          fail(`Sync of ${env.name} failed`, error);
        }
      }
    });
    commands.addCommand(CommandIDs.tree, {
      label: 'Show Dependency Tree',
      execute: async args => {
        const env = envArg(args);
        try {
          show(app, new TreeView(await api.tree(env.id)));
        } catch (error) {
          fail(`Dependency tree of ${env.name} failed`, error);
        }
      }
    });
    commands.addCommand(CommandIDs.diff, {
      label: 'Compare Environment',
      execute: async args => {
        const env = envArg(args);
        const others = model.environments.filter(e => e.id !== env.id);
        const lockChoices = env.lockfiles.length ? [`lock: ${guess(env, env.lockfiles[0].split('/').pop()!)}`] : [];
        const items = [...others.map(e => `${e.name} (${e.id})`), ...lockChoices, 'a lockfile…'];
        const choice = await InputDialog.getItem({ title: `Compare ${env.name} with`, items });
        if (!choice.button.accept || !choice.value) {
          return;
        }
        try {
          let diff;
          if (choice.value === 'a lockfile…' || choice.value.startsWith('lock: ')) {
            let path = choice.value.startsWith('lock: ') ? choice.value.slice(6) : '';
            if (!path) {
              const asked = await InputDialog.getText({ title: 'Lockfile (relative to the server root)', text: guess(env, 'pylock.toml') });
              if (!asked.button.accept || !asked.value) {
                return;
              }
              path = asked.value;
            }
            diff = await api.diffLock(env.id, path);
          } else {
            const other = others[items.indexOf(choice.value)];
            diff = await api.diffEnv(env.id, other.id);
          }
          show(app, new DiffView(diff));
        } catch (error) {
          fail(`Comparison of ${env.name} failed`, error);
        }
      }
    });

    const panel = new EnvironmentsPanel(model, commands, logo);
    panel.title.icon = PANEL_ICON;
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
      palette.addItem({ command: CommandIDs.refresh, category: 'envkernels' });
    }
    // `%envlock --notebook` sends its lock over a comm into the open notebook (notebooklock.ts).
    const isEnvKernel = async (name: string): Promise<boolean> => {
      await serviceManager.kernelspecs.ready;
      const spec = serviceManager.kernelspecs.specs?.kernelspecs[name];
      return !!spec?.metadata?.envkernels || name.startsWith('envk-');
    };
    tracker.forEach(panel => new NotebookLockLink(panel, isEnvKernel));
    tracker.widgetAdded.connect((_, panel) => new NotebookLockLink(panel, isEnvKernel));
    // A notebook saved on another machine names `envk-<kind>-<slug>-<other hash>`: start it on the
    // local environment the server resolves it to, instead of asking (portable.ts).
    tracker.widgetAdded.connect((_, panel) => watchPortableName(panel, serviceManager.kernelspecs, sessionDialogs));
    void model.load();
  }
};

export default plugin;
