// Entry of the results webview, and of the standalone HTML report (same code, same look).
import { splitResult } from '../../src/core/eval/cellSummary';
import { markChanges } from '../../src/core/eval/compare';
import { cellKey } from '../../src/core/eval/keys';
import type { CellResult } from '../../src/core/eval/results';
import {
  MAX_CELLS_PER_MESSAGE,
  REPORT_DATA_ELEMENT_ID,
  type EvalReport,
  type FromWebview,
  type SavedPanelState,
  type ToWebview,
} from '../../src/shared/protocol';
import { ResultsView } from './view';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): SavedPanelState | undefined;
  setState(state: SavedPanelState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const root = document.getElementById('app') ?? document.body;
const embedded = document.getElementById(REPORT_DATA_ELEMENT_ID);

if (embedded?.textContent) {
  // The HTML report: the results are embedded as JSON (inert, type application/json) in the page. Each run
  // feeds the same view as the panel, through the same messages; a cell's chains are answered from here.
  const report = JSON.parse(embedded.textContent) as EvalReport;
  for (const result of report.runs) {
    const section = document.createElement('div');
    section.className = 'run';
    root.append(section);
    const full = new Map<string, CellResult>(result.cells.map((cell) => [cellKey(cell.variant, cell.caseId), cell]));
    const view = new ResultsView(
      section,
      {
        onOpenCell: (runId, variant, caseId) => {
          const cell = full.get(cellKey(variant, caseId));
          if (cell) queueMicrotask(() => view.receive({ type: 'cell', runId, cell }));
        },
      },
      { report: true },
    );
    const { overview, cells: brief } = splitResult(result);
    const comparison = report.comparisons?.[result.runId];
    // As in the panel: the flipped cells are marked on their summaries.
    const cells = markChanges(brief, comparison);
    const shown = comparison && (({ changes: _changes, ...rest }) => rest)(comparison);
    view.receive({ type: 'run', run: { overview, ...(shown ? { comparison: shown } : {}), live: false, cellCount: cells.length } });
    for (let at = 0; at < cells.length; at += MAX_CELLS_PER_MESSAGE)
      view.receive({ type: 'cells', runId: result.runId, cells: cells.slice(at, at + MAX_CELLS_PER_MESSAGE) });
    view.flush();
  }
} else {
  const vscode = acquireVsCodeApi();
  const saved = vscode.getState();
  // Only the small SavedPanelState is kept: the run itself is re-read from its file by the extension.
  const view = new ResultsView(
    root,
    {
      onReveal: (file, line) => vscode.postMessage({ type: 'reveal', file, line }),
      onExport: (format) => vscode.postMessage({ type: 'export', format }),
      onCancel: (runId) => vscode.postMessage({ type: 'cancel', runId }),
      onOpenCell: (runId, variant, caseId) => vscode.postMessage({ type: 'openCell', runId, variant, caseId }),
      onShowPrompt: (runId, variant, caseId) => vscode.postMessage({ type: 'showPrompt', runId, variant, caseId }),
      onCompareWith: (runId, previousRunId) => vscode.postMessage({ type: 'compareWith', runId, previousRunId }),
      onSaveState: (state) => vscode.setState(state),
    },
    saved ? { saved } : {},
  );
  window.addEventListener('message', (event: MessageEvent<ToWebview>) => view.receive(event.data));
  vscode.postMessage({ type: 'ready' });
}
