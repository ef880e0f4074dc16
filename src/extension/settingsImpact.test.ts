import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ENDPOINTS } from '../core/backends/endpoints';
import { BASE_URL_SETTINGS, READ_ON_USE, SETTING_SECTIONS, settingsImpact, type SettingsImpact } from './settingsImpact';

/** What VS Code's `affectsConfiguration` answers when exactly `changed` (a full setting key) changed. */
const changing =
  (changed: string) =>
  (section: string): boolean =>
    changed === section || changed.startsWith(`${section}.`);

const NOTHING: SettingsImpact = { remoteBackends: false, localBackend: false, modelChoice: false, diagnostics: false };

describe('settingsImpact', () => {
  it('reloads only what a setting reaches', () => {
    assert.deepEqual(settingsImpact(changing('prices')), NOTHING);
    assert.deepEqual(settingsImpact(changing('runsDirectory')), NOTHING);
    assert.deepEqual(settingsImpact(changing('tokenizer.encoding')), NOTHING);
    assert.deepEqual(settingsImpact(changing('local.threads')), { ...NOTHING, localBackend: true });
    assert.deepEqual(settingsImpact(changing('local.precision')), { ...NOTHING, localBackend: true });
    assert.deepEqual(settingsImpact(changing('local.modelDirectories')), { ...NOTHING, localBackend: true });
    assert.deepEqual(settingsImpact(changing('azure.apiVersion')), { ...NOTHING, remoteBackends: true });
    assert.deepEqual(settingsImpact(changing('ollama.baseUrl')), { ...NOTHING, remoteBackends: true });
    assert.deepEqual(settingsImpact(changing('lmstudio.baseUrl')), { ...NOTHING, remoteBackends: true });
    assert.deepEqual(settingsImpact(changing('llamacpp.baseUrl')), { ...NOTHING, remoteBackends: true });
    assert.deepEqual(settingsImpact(changing('requestTimeoutSeconds')), { ...NOTHING, remoteBackends: true });
    assert.deepEqual(settingsImpact(changing('defaultModel')), { ...NOTHING, modelChoice: true });
    assert.deepEqual(settingsImpact(changing('diagnostics.enabled')), { ...NOTHING, diagnostics: true });
  });

  it('places every setting in package.json, once', () => {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, unknown> } };
    };
    const keys = Object.keys(manifest.contributes.configuration.properties).map((key) => key.replace(/^chainscope\./, ''));
    assert.ok(keys.length > 10);
    for (const key of keys) {
      const reached = Object.values(settingsImpact(changing(key))).filter(Boolean).length;
      const readOnUse = READ_ON_USE.filter((section) => changing(key)(section)).length;
      assert.equal(reached + readOnUse, 1, `chainscope.${key} must reach exactly one part, or be read on use`);
    }
    // No section names a setting that does not exist.
    for (const section of [...Object.values(SETTING_SECTIONS).flat(), ...READ_ON_USE]) {
      assert.ok(
        keys.some((key) => changing(key)(section)),
        `no setting under chainscope.${section}`,
      );
    }
  });

  it('gives every server a base-URL setting whose default is the backend’s own', () => {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
    };
    const { properties } = manifest.contributes.configuration;
    // Azure's endpoint is its own setting (chainscope.azure.endpoint).
    assert.deepEqual(
      Object.keys(BASE_URL_SETTINGS).sort(),
      Object.keys(ENDPOINTS)
        .filter((name) => name !== 'azure')
        .sort(),
    );
    for (const [provider, key] of Object.entries(BASE_URL_SETTINGS)) {
      const setting = properties[`chainscope.${key}`];
      assert.ok(setting, `no chainscope.${key} in package.json`);
      assert.equal(setting.default, ENDPOINTS[provider]?.baseUrl ?? '', `chainscope.${key}'s default`);
    }
  });
});
