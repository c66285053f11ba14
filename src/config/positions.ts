import { ConfigError } from './errors.js';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** Where a value (or its key) sits in the source, 1-based. */
export interface Position {
  line: number;
  col: number;
}

/**
 * A parsed YAML document that can say where any path lives: used to put `file:line:col` on every validation error,
 * including errors found later (after the data is loaded) about a value in the file.
 */
export class SourceMap {
  constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  static parse(file: string, text: string): { map: SourceMap; errors: Array<{ message: string; pos: Position }> } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const errors = doc.errors.map((e) => {
      const lp = lines.linePos(e.pos[0]);
      return { message: e.message.split('\n')[0], pos: { line: lp.line, col: lp.col } };
    });
    return { map: new SourceMap(file, doc, lines), errors };
  }

  toJS(): unknown {
    return this.doc.toJS();
  }

  /**
   * Position of the value at `path` (or of its key when `key` is true, which is where an unknown key is reported).
   * Falls back to the nearest existing ancestor, then to the start of the document.
   */
  at(path: ReadonlyArray<PropertyKey>, key = false): Position {
    let node: unknown = this.doc.contents;
    let best: Node | null = (node as Node) ?? null;
    for (let i = 0; i < path.length; i++) {
      const step = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step));
        if (!pair) break;
        if (last && key && pair.key) return this.pos(pair.key as Node);
        node = pair.value;
        best = (pair.value as Node | null) ?? (pair.key as Node);
      } else if (isSeq(node) && typeof step === 'number') {
        node = node.items[step];
        if (!node) break;
        best = node as Node;
      } else {
        break;
      }
    }
    return best ? this.pos(best) : { line: 1, col: 1 };
  }

  /** A ConfigError at the position of `path` (at its key when `key` is true). */
  error(path: ReadonlyArray<PropertyKey>, message: string, key = false): ConfigError {
    const pos = this.at(path, key);
    return new ConfigError(this.file, pos.line, pos.col, message);
  }

  private pos(node: Node): Position {
    const offset = node.range?.[0] ?? 0;
    const lp = this.lines.linePos(offset);
    return { line: lp.line, col: lp.col };
  }
}
