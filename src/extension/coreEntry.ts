// Everything the extension uses from src/core, bundled apart (dist/core.js) and loaded on first use:
// parsing, tokenizers, backends and the engine stay off the activation path.
export { createBackend, parseModelReference } from '../core/backends';
export { cudaSetup, describeCudaSetup } from '../core/local/cudaSetup';
export { resultsToCsv } from '../core/eval/csv';
export { estimateRun } from '../core/eval/estimate';
export { makeReport } from '../core/eval/report';
export { RunSetupError } from '../core/eval/run';
export { compareWithRunFile, InvalidPromptError } from '../core/eval/session';
export { markChanges } from '../core/eval/compare';
export { startSession } from '../core/eval/liveSession';
export { judgeModelReference } from '../core/eval/judge';
export { ThreadedSession } from '../core/eval/sessionThread';
export { completionsAt } from '../core/prompt/complete';
export { loadPrompt } from '../core/prompt/load';
export { foldingRanges, outline } from '../core/prompt/outline';
export { counterForModel, tokenReport } from '../core/prompt/tokenReport';
export { renderHtmlReport } from '../core/report/html';
export { encodingForModel } from '../core/tokens';
export { splitResult } from '../core/eval/cellSummary';
export { summarizeRun, scoreWithCustomScorer } from '../core/eval/results';
export { hashText, headerOf, listRunFiles, RunFile } from '../core/eval/store';
export { renderCellPrompt } from '../core/prompt/render';
export { DEFAULT_PRICES, priceFor } from '../core/prices';
