/**
 * Fine-tuning's curves on a canvas: loss on the left axis, accuracies and mAP (0-100 %) on the right, epochs
 * along the bottom, a legend on top. Two y axes because the loss has no fixed range while the others do; a
 * dashed loss line tells the two apart without colour.
 */
import type { FineTuneEpoch } from '../core/fine-tune-api.ts';

export interface TrainingChartOptions {
  /** Epochs planned: the x axis spans them from the first epoch on, so the chart does not rescale as it grows. */
  readonly totalEpochs?: number;
}

interface Series {
  readonly name: string;
  readonly colour: string;
  readonly value: (e: FineTuneEpoch) => number;
  /** 'loss': left axis; 'share': right axis, 0 to 1. */
  readonly axis: 'loss' | 'share';
}

const SERIES: readonly Series[] = [
  { name: 'loss', colour: '#b42318', value: (e) => e.trainLoss, axis: 'loss' },
  { name: 'train accuracy', colour: '#1d4ed8', value: (e) => e.trainAccuracy, axis: 'share' },
  { name: 'validation accuracy', colour: '#15803d', value: (e) => e.valAccuracy, axis: 'share' },
  { name: 'validation mAP', colour: '#7c3aed', value: (e) => e.valMap, axis: 'share' },
];
const INK = '#1c2430';
const MUTED = '#4b5563';
const GRID = '#e5e7eb';
/** Horizontal grid lines: both y axes label the same lines (the right one 0, 25, 50, 75, 100 %). */
const Y_STEPS = 4;

/** A loss range whose quarters read well: 1, 2, 4, 5 or 8 times a power of ten. */
export function niceLossMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 4, 5, 8, 10].map((m) => m * power).find((v) => v >= max * (1 - 1e-9))!;
}

/** Epoch ticks: at most about `most` of them, at 1, 2, 5 or 10 times a power of ten. */
export function epochTicks(last: number, most = 8): number[] {
  if (last <= 1) return [1];
  const raw = last / most;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(
    1,
    [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!,
  );
  const ticks = [1];
  for (let t = step; t <= last; t += step) if (t > 1) ticks.push(t);
  return ticks;
}

function formatLoss(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

/** Draws `epochs` (in order, epoch numbers from 1) onto `canvas`, in its own pixel size; empty: a blank chart. */
export function drawTrainingChart(
  canvas: HTMLCanvasElement,
  epochs: readonly FineTuneEpoch[],
  options: TrainingChartOptions = {},
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: w, height: hgt } = canvas;
  ctx.clearRect(0, 0, w, hgt);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, w, hgt);
  if (epochs.length === 0) return;
  ctx.font = '12px system-ui, sans-serif';
  const left = 46;
  const right = 46;
  const top = 30;
  const bottom = 34;
  const plotW = w - left - right;
  const plotH = hgt - top - bottom;
  const last = Math.max(options.totalEpochs ?? 0, epochs[epochs.length - 1]!.epoch, 2);
  const x = (epoch: number) => left + (plotW * (epoch - 1)) / (last - 1);
  const lossMax = niceLossMax(Math.max(...epochs.map((e) => e.trainLoss).filter(Number.isFinite), 0));
  const y = (v: number, axis: Series['axis']) =>
    top + plotH * (1 - Math.max(0, Math.min(1, v / (axis === 'loss' ? lossMax : 1))));

  // Grid and y axes: loss on the left, % on the right, on the same lines.
  ctx.lineWidth = 1;
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= Y_STEPS; i++) {
    const f = i / Y_STEPS;
    const gy = Math.round(top + plotH * (1 - f)) + 0.5;
    ctx.strokeStyle = i === 0 ? MUTED : GRID;
    ctx.beginPath();
    ctx.moveTo(left, gy);
    ctx.lineTo(left + plotW, gy);
    ctx.stroke();
    ctx.fillStyle = SERIES[0]!.colour;
    ctx.textAlign = 'right';
    ctx.fillText(formatLoss(lossMax * f), left - 6, gy);
    ctx.fillStyle = MUTED;
    ctx.textAlign = 'left';
    ctx.fillText(`${Math.round(100 * f)} %`, left + plotW + 6, gy);
  }
  ctx.strokeStyle = MUTED;
  ctx.beginPath();
  ctx.moveTo(left + 0.5, top);
  ctx.lineTo(left + 0.5, top + plotH);
  ctx.moveTo(left + plotW + 0.5, top);
  ctx.lineTo(left + plotW + 0.5, top + plotH);
  ctx.stroke();

  // x axis: epochs.
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillStyle = MUTED;
  for (const t of epochTicks(last)) {
    const tx = Math.round(x(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(tx, top + plotH);
    ctx.lineTo(tx, top + plotH + 4);
    ctx.stroke();
    ctx.fillText(String(t), tx, top + plotH + 6);
  }
  ctx.textAlign = 'right';
  ctx.fillText('epoch', left + plotW, top + plotH + 20);

  // Curves; a missing value (NaN: no validation share) breaks the line instead of dropping to 0.
  for (const s of SERIES) {
    ctx.strokeStyle = s.colour;
    ctx.fillStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.axis === 'loss' ? [6, 3] : []);
    ctx.beginPath();
    let drawing = false;
    for (const e of epochs) {
      const v = s.value(e);
      if (!Number.isFinite(v)) {
        drawing = false;
        continue;
      }
      if (drawing) ctx.lineTo(x(e.epoch), y(v, s.axis));
      else ctx.moveTo(x(e.epoch), y(v, s.axis));
      drawing = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
    if (epochs.length === 1 && Number.isFinite(s.value(epochs[0]!))) {
      ctx.beginPath();
      ctx.arc(x(epochs[0]!.epoch), y(s.value(epochs[0]!), s.axis), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  // Legend: a swatch per series; the loss says which axis is its own.
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  let lx = left;
  for (const s of SERIES) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.axis === 'loss' ? [6, 3] : []);
    ctx.beginPath();
    ctx.moveTo(lx, 10);
    ctx.lineTo(lx + 18, 10);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = INK;
    const label = s.axis === 'loss' ? `${s.name} (left)` : s.name;
    ctx.fillText(label, lx + 22, 10);
    lx += 22 + ctx.measureText(label).width + 16;
  }
}
