import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { azureSettings, DEFAULT_AZURE_API_VERSION } from '.';

describe('azureSettings', () => {
  const env = {
    AZURE_OPENAI_ENDPOINT: 'https://env.openai.azure.com/',
    AZURE_OPENAI_API_VERSION: '2025-01-01',
    OPENAI_API_VERSION: '2024-06-01',
  };

  it('takes the options first, then the environment, then the default', () => {
    assert.deepEqual(azureSettings({ azure: { endpoint: 'https://settings.openai.azure.com/', apiVersion: '2024-02-01' }, env }), {
      endpoint: 'https://settings.openai.azure.com/',
      apiVersion: '2024-02-01',
    });
    assert.deepEqual(azureSettings({ env }), { endpoint: 'https://env.openai.azure.com/', apiVersion: '2025-01-01' });
    assert.deepEqual(azureSettings({ env: { OPENAI_API_VERSION: '2024-06-01' } }), { endpoint: undefined, apiVersion: '2024-06-01' });
    assert.deepEqual(azureSettings({ env: {} }), { endpoint: undefined, apiVersion: DEFAULT_AZURE_API_VERSION });
  });

  it('lets --base-url win over the settings, and reads empty settings as unset', () => {
    assert.equal(
      azureSettings({ baseUrl: 'https://flag.openai.azure.com/', azure: { endpoint: 'https://settings.openai.azure.com/' }, env }).endpoint,
      'https://flag.openai.azure.com/',
    );
    assert.deepEqual(azureSettings({ azure: { endpoint: '', apiVersion: '' }, env }), {
      endpoint: 'https://env.openai.azure.com/',
      apiVersion: '2025-01-01',
    });
  });

  it("matches the default of the editor's chainscope.azure.apiVersion setting", () => {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
    };
    assert.equal(manifest.contributes.configuration.properties['chainscope.azure.apiVersion']?.default, DEFAULT_AZURE_API_VERSION);
  });
});
