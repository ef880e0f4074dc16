// Entry of the results webview, and of the standalone HTML report (same code, same look).
import { REPORT_DATA_ELEMENT_ID, type EvalReport, type FromWebview, type PanelState, type ToWebview } from '../../src/shared/protocol';
import { ResultsView } from './view';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): { state?: PanelState; selected?: { variant: string; caseId: string } } | undefined;
  setState(state: { state?: PanelState; selected?: { variant: string; caseId: string } }): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const root = document.getElementById('app') ?? document.body;
const embedded = document.getElementById(REPORT_DATA_ELEMENT_ID);

if (embedded?.textContent) {
  // The HTML report: state is embedded as JSON (inert, type application/json) in the page.
  const report = JSON.parse(embedded.textContent) as EvalReport;
  for (const result of report.runs) {
    const section = document.createElement('div');
    section.className = 'run';
    root.append(section);
    const comparison = report.comparisons?.[result.runId];
    new ResultsView(section).render({ result, ...(comparison ? { comparison } : {}) });
  }
} else {
  const vscode = acquireVsCodeApi();
  let saved = vscode.getState() ?? {};
  const view = new ResultsView(root, {
    onReveal: (file, line) => vscode.postMessage({ type: 'reveal', file, line }),
    onExport: (format) => vscode.postMessage({ type: 'export', format }),
    onSelect: (selected) => {
      saved = { ...saved, ...(selected ? { selected } : {}) };
      vscode.setState(saved);
    },
  });
  if (saved.state) view.render(saved.state, saved.selected);
  window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
    const message = event.data;
    if (message.type === 'state') {
      saved = { ...saved, state: message.state };
      vscode.setState(saved);
      view.render(message.state, saved.selected);
    } else if (message.type === 'progress' && saved.state) {
      saved.state = {
        ...saved.state,
        progress: { done: message.done, total: message.total, ...(message.etaMs !== undefined ? { etaMs: message.etaMs } : {}) },
      };
      view.render(saved.state, saved.selected);
    }
  });
  vscode.postMessage({ type: 'ready' });
}
