/** Where long work reports how far it is; the CLI draws it, tests and --quiet pass nothing. */
export interface ProgressSink {
  begin(total: number, label: string): void;
  advance(label: string): void;
  end(): void;
}
