/** What the Ctrl-C / SIGTERM message says about work already done; a command that checkpoints sets it. */
let note = 'nothing was written to the results folder';

export function setInterruptNote(text: string): void {
  note = text;
}

export function interruptNote(): string {
  return note;
}
