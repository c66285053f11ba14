/** Edit distance (insertions, deletions, substitutions and swaps of neighbours), for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The known name closest to a misspelt one, or null when none is close: at most a third of the longer name's letters
 * apart (case and `-`/`_` ignored), so `component` finds `components` and `fold` finds `folds`, but `x` finds nothing.
 */
export function closest(name: string, known: readonly string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const distance = editDistance(norm(name), norm(k));
    if (distance < bestDistance && distance <= Math.max(1, Math.floor(Math.max(name.length, k.length) / 3))) {
      best = k;
      bestDistance = distance;
    }
  }
  return best;
}

/** `; did you mean "x"?` when a known name is close, else ''. */
export function didYouMean(name: string, known: readonly string[]): string {
  const match = closest(name, known);
  return match && match !== name ? `; did you mean "${match}"?` : '';
}
