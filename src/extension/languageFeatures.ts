import * as vscode from 'vscode';
import type { CompletionKind } from '../core/prompt/complete';
import type { OutlineSymbol, SymbolKind } from '../core/prompt/outline';
import type { TokenCounter } from '../core/prompt/tokenReport';
import type { Case, PromptDocument, Range, Variant } from '../core/prompt/types';
import type { ModelChoice } from './backends';
import { core } from './core';
import { readSettings } from './config';
import { toRange } from './convert';
import { PROMPT_SELECTOR, type PromptDocuments } from './documents';

const SYMBOL_KINDS: Record<SymbolKind, vscode.SymbolKind> = {
  module: vscode.SymbolKind.Module,
  namespace: vscode.SymbolKind.Namespace,
  field: vscode.SymbolKind.Field,
  object: vscode.SymbolKind.Object,
  event: vscode.SymbolKind.Event,
  string: vscode.SymbolKind.String,
  function: vscode.SymbolKind.Function,
};

const COMPLETION_KINDS: Record<CompletionKind, vscode.CompletionItemKind> = {
  property: vscode.CompletionItemKind.Property,
  value: vscode.CompletionItemKind.EnumMember,
  variable: vscode.CompletionItemKind.Variable,
  function: vscode.CompletionItemKind.Function,
};

function contains(range: Range, position: vscode.Position): boolean {
  return toRange(range).contains(position);
}

function toSymbol(symbol: OutlineSymbol): vscode.DocumentSymbol {
  const result = new vscode.DocumentSymbol(
    symbol.name,
    symbol.detail,
    SYMBOL_KINDS[symbol.kind],
    toRange(symbol.range),
    toRange(symbol.selectionRange),
  );
  result.children = symbol.children.map(toSymbol);
  return result;
}

/** Hover, completion, outline and folding for `.prompt` files. */
export function registerLanguageFeatures(documents: PromptDocuments, models: ModelChoice): vscode.Disposable[] {
  return [
    vscode.languages.registerHoverProvider(PROMPT_SELECTOR, {
      provideHover: (document, position, token) => provideTokenHover(documents, models, document, position, token),
    }),
    vscode.languages.registerCompletionItemProvider(
      PROMPT_SELECTOR,
      {
        async provideCompletionItems(document, position) {
          const { document: parsed } = await documents.get(document);
          return core()
            .completionsAt(document.getText(), position, parsed)
            .map((item) => {
              const completion = new vscode.CompletionItem(item.label, COMPLETION_KINDS[item.kind]);
              if (item.detail) completion.detail = item.detail;
              if (item.insertText) completion.insertText = item.insertText;
              if (item.documentation) completion.documentation = new vscode.MarkdownString(item.documentation);
              if (item.range) completion.range = toRange(item.range);
              return completion;
            });
        },
      },
      ':',
      ' ',
      '{',
      '-',
    ),
    vscode.languages.registerDocumentSymbolProvider(PROMPT_SELECTOR, {
      async provideDocumentSymbols(document) {
        const { document: parsed } = await documents.get(document);
        return core().outline(parsed).map(toSymbol);
      },
    }),
    vscode.languages.registerFoldingRangeProvider(PROMPT_SELECTOR, {
      async provideFoldingRanges(document) {
        const { document: parsed } = await documents.get(document);
        return core()
          .foldingRanges(parsed)
          .map((range) => new vscode.FoldingRange(range.startLine, range.endLine));
      },
    }),
  ];
}

/**
 * The tokenizer of the model a run of this prompt would use: a local model's own (read once per folder,
 * asynchronously), else the model's OpenAI encoding, unless the setting names one.
 */
export async function tokenCounterFor(
  uri: vscode.Uri,
  parsed: PromptDocument,
  models: ModelChoice,
): Promise<{ counter: TokenCounter; problem?: string }> {
  const settings = readSettings(uri);
  // Resolved as Backends.create resolves a run's model: the picked model, the prompt's, the default.
  return core().counterForModel(models.resolve(parsed), {
    ...(settings.tokenizerEncoding === 'auto' ? {} : { encoding: settings.tokenizerEncoding }),
    modelDirectories: settings.local.modelDirectories,
  });
}

/**
 * Token counts: over a case, that case in every variant; over a variant, that variant; anywhere else in the
 * body or on `variants`/`samples`, every variant (first case, and the mean over the first 20 cases).
 */
async function provideTokenHover(
  documents: PromptDocuments,
  models: ModelChoice,
  document: vscode.TextDocument,
  position: vscode.Position,
  token: vscode.CancellationToken,
): Promise<vscode.Hover | undefined> {
  const loaded = await documents.get(document);
  const parsed = loaded.document;
  const inBody = position.line >= parsed.templateLine;
  const hoveredCase = parsed.cases.find((testCase) => contains(testCase.range, position));
  const hoveredVariant = parsed.variantsDefaulted ? undefined : parsed.variants.find((variant) => contains(variant.range, position));
  const onSummaryKey = ['variants', 'samples', 'model'].some((key) => {
    const range = parsed.keyRanges[key];
    return range ? contains(range.key, position) : false;
  });
  if (!inBody && !hoveredCase && !hoveredVariant && !onSummaryKey) return undefined;

  const { counter, problem } = await tokenCounterFor(document.uri, parsed, models);
  if (token.isCancellationRequested) return undefined;
  const cases: Case[] = hoveredCase ? [hoveredCase] : loaded.cases;
  const variants: Variant[] = hoveredVariant ? [hoveredVariant] : parsed.variants;
  const report = await core().tokenReport(parsed, cases, { counter, variants });
  if (token.isCancellationRequested) return undefined;

  const markdown = new vscode.MarkdownString();
  const subject = hoveredCase
    ? `case **${hoveredCase.name ?? hoveredCase.id}**`
    : cases.length > 1
      ? `first case (mean over ${report.rows[0]?.casesMeasured ?? 0})`
      : 'the case';
  const mean = cases.length > 1;
  const first = report.rows[0];
  if (report.rows.length === 1 && first) {
    markdown.appendMarkdown(`**${first.promptTokens} tokens** (${report.tokenizer})\n\n`);
  }
  markdown.appendMarkdown(`**Prompt tokens** — ${subject}, counted with ${report.tokenizer}\n\n`);
  if (report.exact) {
    // A local model's own tokenizer: the count its run reports, nothing estimated.
    markdown.appendMarkdown('| variant | examples | prompt tokens |' + (mean ? ' mean |' : '') + '\n');
    markdown.appendMarkdown('|---|--:|--:|' + (mean ? '--:|' : '') + '\n');
    for (const row of report.rows)
      markdown.appendMarkdown(
        `| ${row.variant.name} | ${row.examples} | ${row.promptTokens} |` + (mean ? ` ${row.meanPromptTokens.toFixed(1)} |` : '') + '\n',
      );
  } else {
    markdown.appendMarkdown('| variant | examples | chat tokens | text tokens |' + (mean ? ' mean chat |' : '') + '\n');
    markdown.appendMarkdown('|---|--:|--:|--:|' + (mean ? '--:|' : '') + '\n');
    for (const row of report.rows)
      markdown.appendMarkdown(
        `| ${row.variant.name} | ${row.examples} | ${row.chatTokens} | ${row.textTokens} |` +
          (mean ? ` ${row.meanChatTokens.toFixed(1)} |` : '') +
          '\n',
      );
  }
  if (problem)
    markdown.appendMarkdown(`\n*Counted with ${report.tokenizer}: the local model's tokenizer could not be read (${problem}).*\n`);
  const calls = loaded.cases.length * parsed.variants.length;
  markdown.appendMarkdown(
    `\n${loaded.cases.length} cases × ${parsed.variants.length} variants × ${parsed.samples} chains = ${calls * parsed.samples} completions`,
  );
  return new vscode.Hover(markdown);
}
