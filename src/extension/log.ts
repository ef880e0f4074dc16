import * as vscode from 'vscode';

/** The extension's one log, over a LogOutputChannel so the user's log level applies. */
export class Logger implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('Chainscope', { log: true });

  info(component: string, message: string): void {
    this.channel.info(`[${component}] ${message}`);
  }

  debug(component: string, message: string): void {
    this.channel.debug(`[${component}] ${message}`);
  }

  warn(component: string, message: string): void {
    this.channel.warn(`[${component}] ${message}`);
  }

  error(component: string, error: unknown): void {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.channel.error(`[${component}] ${text}`);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
