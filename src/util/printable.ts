/**
 * Control characters (C0 but tab and newline, DEL, C1) and the Unicode marks that reorder or hide text (bidi
 * overrides and isolates, zero-width joiners aside) as visible escapes: a name read from a file, a folder or a model
 * can then neither move the cursor, retitle the terminal (ANSI CSI and OSC sequences start with ESC or a C1 code) nor
 * forge a line. `\u001b` prints as `\x1b`.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string) => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** Text for the terminal: lines kept, every other control character escaped. */
export function forTerminal(text: string): string {
  return text.replace(CONTROL, escape);
}

/** One name on one line (a table cell, a file name in a message): newlines and tabs escaped too. */
export function printable(name: string): string {
  return forTerminal(name).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}

/**
 * JSON for the terminal or a pipe: JSON.stringify escapes only U+0000–U+001F, so DEL, the C1 controls and the bidi
 * marks are written as \uXXXX escapes too (still the same JSON value).
 */
export function jsonForTerminal(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    CONTROL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
