import * as vscode from 'vscode';
import { parseModelReference } from '../core/backends/reference';
import { core } from './core';
import { readSettings } from './config';
import type { ModelChoice } from './backends';
import { toRange } from './convert';
import { PROMPT_SELECTOR, type PromptDocuments } from './documents';

class EvaluateLens extends vscode.CodeLens {
  constructor(
    range: vscode.Range,
    readonly document: vscode.TextDocument,
    readonly summary: string,
  ) {
    super(range);
  }
}

/** "▶ Evaluate" above the document, "▶ Evaluate case" above each case, "▶ This variant" above each variant. */
export class PromptCodeLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly modelChanges: vscode.Disposable;

  constructor(
    private readonly documents: PromptDocuments,
    private readonly models: ModelChoice,
  ) {
    this.modelChanges = models.onDidChange(() => this.changed.fire());
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const loaded = await this.documents.get(document);
    const parsed = loaded.document;
    const lenses: vscode.CodeLens[] = [];
    const top = new vscode.Range(0, 0, 0, 0);
    const summary = `${loaded.cases.length} cases × ${parsed.variants.length} variants × ${parsed.stop ? `up to ${parsed.samples}` : parsed.samples} chains`;
    lenses.push(new EvaluateLens(top, document, summary));
    for (const testCase of parsed.cases) {
      lenses.push(
        new vscode.CodeLens(toRange(testCase.range), {
          title: '▶ Evaluate case',
          tooltip: `Run every variant on ${testCase.name ?? testCase.id}`,
          command: 'chainscope.evaluateCase',
          arguments: [document.uri, testCase.id],
        }),
      );
    }
    if (!parsed.variantsDefaulted) {
      for (const variant of parsed.variants.filter((candidate) => candidate.base === undefined)) {
        lenses.push(
          new vscode.CodeLens(toRange(variant.range), {
            title: '▶ This variant',
            tooltip: `Run ${variant.name} on every case`,
            command: 'chainscope.evaluateVariant',
            arguments: [document.uri, variant.name],
          }),
        );
      }
    }
    return lenses;
  }

  /** The token estimate loads a tokenizer: done only for lenses on screen. */
  async resolveCodeLens(lens: vscode.CodeLens): Promise<vscode.CodeLens> {
    if (!(lens instanceof EvaluateLens)) return lens;
    const loaded = await this.documents.get(lens.document);
    const model = this.models.resolve(loaded.document);
    let tokens = '';
    try {
      // Local models complete text; remote ones chat. The model name picks the tokenizer.
      const reference = parseModelReference(model);
      const prices = core().priceFor(reference.provider ?? 'openai', reference.model, {
        ...core().DEFAULT_PRICES,
        ...readSettings().prices,
      });
      const estimate = await core().estimateRun(loaded, {
        input: reference.isLocal ? 'text' : 'chat',
        model: reference.model,
        ...(prices ? { prices } : {}),
        ...(loaded.document.budget !== undefined ? { budget: loaded.document.budget } : {}),
      });
      // The worst case: every chain at max_tokens; with a budget, whether it fits.
      // A free model (local, a self-hosted server at price 0) has no worst case worth a word.
      const worst = estimate.maxCost ? `, ≤ $${estimate.maxCost.toFixed(estimate.maxCost < 1 ? 4 : 2)}` : '';
      const budget = estimate.budget !== undefined ? ` (budget $${estimate.budget}${estimate.overBudget ? ', may stop early' : ''})` : '';
      tokens = `, ≈${estimate.promptTokens.toLocaleString('en-US')} prompt tokens${worst}${budget}`;
    } catch {
      // A document with errors renders no estimate; the lens still runs (and reports the errors).
    }
    lens.command = {
      title: `▶ Evaluate (${lens.summary}${tokens}) on ${model}`,
      tooltip: 'Run every variant on every case, sampling the chains, and show the results',
      command: 'chainscope.evaluate',
      arguments: [lens.document.uri],
    };
    return lens;
  }

  dispose(): void {
    this.modelChanges.dispose();
    this.changed.dispose();
  }
}

export function registerCodeLenses(documents: PromptDocuments, models: ModelChoice): vscode.Disposable[] {
  const provider = new PromptCodeLenses(documents, models);
  return [provider, vscode.languages.registerCodeLensProvider(PROMPT_SELECTOR, provider)];
}
