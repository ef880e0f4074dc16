import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

interface Step {
  id: string;
  description: string;
  media: { markdown?: string; image?: string | Record<string, string>; svg?: string };
  completionEvents?: string[];
}

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: {
    commands: { command: string }[];
    configuration: { properties: Record<string, unknown> };
    walkthroughs: { steps: Step[] }[];
  };
};
const steps = manifest.contributes.walkthroughs.flatMap((walkthrough) => walkthrough.steps);
const commands = new Set(manifest.contributes.commands.map((command) => command.command));

function mediaFiles(step: Step): string[] {
  const { markdown, image, svg } = step.media;
  return [markdown, svg, ...(typeof image === 'string' ? [image] : Object.values(image ?? {}))].filter((file): file is string => !!file);
}

describe('the Get Started walkthrough', () => {
  it('ticks every step off by what doing it fires, naming only commands and settings that exist', () => {
    for (const step of steps) {
      assert.ok(step.completionEvents && step.completionEvents.length > 0, `step ${step.id} has no completionEvents`);
      for (const event of step.completionEvents) {
        const [kind, ...rest] = event.split(':');
        const value = rest.join(':');
        assert.ok(['onCommand', 'onSettingChanged', 'onContext', 'onView', 'onLink'].includes(kind ?? ''), `${step.id}: ${event}`);
        if (kind === 'onCommand') assert.ok(commands.has(value), `${step.id}: ${value} is not a contributed command`);
        if (kind === 'onSettingChanged')
          assert.ok(value in manifest.contributes.configuration.properties, `${step.id}: no setting ${value}`);
      }
    }
  });

  it("links only to commands that exist (Chainscope's own are contributed)", () => {
    for (const step of steps)
      for (const [, command] of step.description.matchAll(/\]\(command:([\w.]+)/g))
        if (command?.startsWith('chainscope.')) assert.ok(commands.has(command), `${step.id} links to ${command}`);
  });

  it('renders media that exist and are packed into the VSIX (.vscodeignore)', async function () {
    this.timeout(30_000);
    // vsce's own file list: what `vsce package` puts in the VSIX, .vscodeignore applied.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS dev tool, loaded only here
    const vsce = require('@vscode/vsce') as {
      listFiles(options: { cwd: string; packageManager: unknown }): Promise<string[]>;
      PackageManager: { None: unknown };
    };
    const packed = new Set(
      (await vsce.listFiles({ cwd: root, packageManager: vsce.PackageManager.None })).map((file) => file.split(path.sep).join('/')),
    );
    for (const step of steps) {
      const files = mediaFiles(step);
      assert.ok(files.length > 0, `step ${step.id} shows nothing`);
      for (const file of files) {
        assert.ok(fs.existsSync(path.join(root, file)), `${step.id}: ${file} does not exist`);
        assert.ok(packed.has(file), `${step.id}: ${file} is left out of the VSIX`);
        if (file.endsWith('.md')) {
          // Images a step's markdown shows are files beside it, packed too.
          const text = fs.readFileSync(path.join(root, file), 'utf8');
          for (const [, target] of text.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)) {
            if (!target || /^[a-z]+:/i.test(target)) continue;
            const image = path.posix.join(path.posix.dirname(file), target);
            assert.ok(packed.has(image), `${file} shows ${target}, which is not in the VSIX`);
          }
        }
      }
    }
  });
});
