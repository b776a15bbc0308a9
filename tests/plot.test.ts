// The training plot: a loss that spans decades gets a log axis, and tick
// labels of small values fit inside the panel instead of being clipped.
import { describe, expect, it } from "vitest";
import type { EpochRow } from "../engine/train/progress";
import { historySvg } from "../engine/train/plot";
import { CHAR_W } from "../engine/util/plot_scale";

const rows = (losses: number[], extra: (i: number) => Record<string, number> = () => ({})): EpochRow[] =>
  losses.map((loss, i) => ({ epoch: i + 1, step: (i + 1) * 10, loss, samplesPerSec: 1000, wallMs: 10, lr: 0.001, ...extra(i) }));

/** Each panel's scale and the x positions and texts of its y tick labels. */
function panels(svg: string) {
  return [...svg.matchAll(/<g class="panel" data-metric="([^"]+)" data-scale="(\w+)">(.*?)<\/g>/g)].map(([, metric, scale, body]) => ({
    metric,
    scale,
    labels: [...body!.matchAll(/<text class="tick" x="([\d.]+)" y="[\d.]+" font-size="10" text-anchor="end">([^<]+)<\/text>/g)].map(([, x, text]) => ({
      x: Number(x),
      text: text!,
    })),
  }));
}

describe("training plot", () => {
  it("a loss spanning five decades is drawn on a log axis with one tick per decade", () => {
    const svg = historySvg(
      rows([2.3, 0.05, 0.0006, 0.00002, 0.0000041], (i) => ({ val_loss: 2.4 / 10 ** i, val_accuracy: 0.5 + i / 10 })),
      "classification",
    );
    const [loss, acc] = panels(svg);
    expect(loss!.metric).toBe("loss");
    expect(loss!.scale).toBe("log");
    expect(loss!.labels.map((l) => l.text)).toEqual(["1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1", "1", "10"]);
    expect(acc!.scale).toBe("linear");
  });

  it("a loss within two decades stays linear, and small tick labels fit left of the axis", () => {
    const svg = historySvg(rows([0.00081, 0.0007, 0.000581]), "regression");
    const [loss] = panels(svg);
    expect(loss!.scale).toBe("linear");
    expect(loss!.labels.length).toBeGreaterThanOrEqual(3);
    for (const label of loss!.labels) {
      // Right-aligned at x: the text starts about its width to the left, which must stay inside the panel (x >= 0).
      expect(label.x - label.text.length * CHAR_W, label.text).toBeGreaterThanOrEqual(0);
      expect(label.text).toMatch(/^0\.000\d+$/);
    }
  });
});
