// The option a mistyped word most likely meant: for "did you mean" hints.

/** The nearest option by edit distance, or undefined when none is close enough to suggest. */
export function closest(word: string, options: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const dd = dist(word, o);
    if (dd < bestD) [best, bestD] = [o, dd];
  }
  return bestD <= Math.max(2, word.length / 3) ? best : undefined;
}
