/**
 * The embedding map's drawing surface: one canvas, so 5,000 points cost one draw call per colour and a redraw
 * is a few milliseconds. Points are thumbnails while there are few, dots past that; hover finds the nearest
 * point within a few pixels, a click picks it, and a drag draws a lasso whose inside becomes the selection
 * (Shift adds to it). Coordinates are the layout's own; the canvas fits them to its size.
 */

export interface MapPoints {
  readonly x: Float32Array;
  readonly y: Float32Array;
  /** A CSS colour per point. */
  readonly colours: readonly string[];
  /** Drawn instead of dots where given (the thumbnails mode). */
  readonly images?: readonly (ImageBitmap | undefined)[];
}

export interface MapCanvasEvents {
  hover(index: number | undefined, clientX: number, clientY: number): void;
  pick(index: number): void;
  lasso(indices: number[], add: boolean): void;
}

const PAD = 24;
const DOT = 3;
const THUMB = 34;
const HIT_PX = 9;
/** A drag shorter than this (in px) is a click. */
const CLICK_PX = 4;

export class MapCanvas {
  readonly element = document.createElement('canvas');
  private points: MapPoints = { x: new Float32Array(0), y: new Float32Array(0), colours: [] };
  private selected = new Set<number>();
  private current: number | undefined;
  private screenX = new Float32Array(0);
  private screenY = new Float32Array(0);
  private lassoPath: [number, number][] | undefined;
  private frame = 0;

  constructor(private readonly events: MapCanvasEvents) {
    const c = this.element;
    c.className = 'map-canvas';
    c.tabIndex = 0;
    c.setAttribute('role', 'img');
    new ResizeObserver(() => this.redraw()).observe(c);
    c.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      // No text selection starts on the canvas (on a page of thousands of cards that alone costs ~90 ms).
      e.preventDefault();
      c.setPointerCapture(e.pointerId);
      this.lassoPath = [this.local(e)];
    });
    c.addEventListener('pointermove', (e) => {
      const [px, py] = this.local(e);
      if (this.lassoPath) {
        this.lassoPath.push([px, py]);
        this.redraw();
        return;
      }
      this.events.hover(this.nearest(px, py), e.clientX, e.clientY);
    });
    c.addEventListener('pointerleave', (e) => this.events.hover(undefined, e.clientX, e.clientY));
    c.addEventListener('pointerup', (e) => {
      const path = this.lassoPath;
      this.lassoPath = undefined;
      if (!path) return;
      const [x0, y0] = path[0]!;
      const far = path.some(([px, py]) => Math.hypot(px - x0, py - y0) > CLICK_PX);
      if (!far) {
        const hit = this.nearest(x0, y0);
        if (hit !== undefined) this.events.pick(hit);
      } else {
        this.events.lasso(this.inside(path), e.shiftKey);
      }
      this.redraw();
    });
  }

  setPoints(points: MapPoints): void {
    this.points = points;
    this.redraw();
  }

  setSelection(selected: ReadonlySet<number>, current: number | undefined): void {
    this.selected = new Set(selected);
    this.current = current;
    this.redraw();
  }

  /** Screen position (CSS px, relative to the canvas) of point i, as last drawn. */
  position(i: number): [number, number] | undefined {
    return i < this.screenX.length ? [this.screenX[i]!, this.screenY[i]!] : undefined;
  }

  /** Draws at the next frame; calls in between cost nothing. */
  redraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private local(e: PointerEvent): [number, number] {
    const r = this.element.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  private fit(width: number, height: number): void {
    const { x, y } = this.points;
    const n = x.length;
    let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      minX = Math.min(minX, x[i]!);
      maxX = Math.max(maxX, x[i]!);
      minY = Math.min(minY, y[i]!);
      maxY = Math.max(maxY, y[i]!);
    }
    const pad = this.points.images ? PAD + THUMB / 2 : PAD;
    const spanX = maxX - minX || 1;
    const spanY = maxY - minY || 1;
    this.screenX = new Float32Array(n);
    this.screenY = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      this.screenX[i] = maxX > minX ? pad + ((x[i]! - minX) / spanX) * (width - 2 * pad) : width / 2;
      // Up is up: the layout's y grows towards the top of the canvas.
      this.screenY[i] = maxY > minY ? pad + ((maxY - y[i]!) / spanY) * (height - 2 * pad) : height / 2;
    }
  }

  private draw(): void {
    const c = this.element;
    const width = c.clientWidth;
    const height = c.clientHeight;
    if (width === 0 || height === 0) return;
    const ratio = window.devicePixelRatio || 1;
    if (c.width !== Math.round(width * ratio) || c.height !== Math.round(height * ratio)) {
      c.width = Math.round(width * ratio);
      c.height = Math.round(height * ratio);
    }
    const ctx = c.getContext('2d')!;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    this.fit(width, height);
    const { colours, images } = this.points;
    const n = this.screenX.length;
    if (images) {
      for (let i = 0; i < n; i++) this.drawThumb(ctx, i, images[i], colours[i]!);
    } else {
      // One path per colour: a few fills for thousands of dots.
      const byColour = new Map<string, number[]>();
      for (let i = 0; i < n; i++)
        (byColour.get(colours[i]!) ?? byColour.set(colours[i]!, []).get(colours[i]!)!).push(i);
      for (const [colour, members] of byColour) {
        ctx.fillStyle = colour;
        ctx.beginPath();
        for (const i of members) {
          ctx.moveTo(this.screenX[i]! + DOT, this.screenY[i]!);
          ctx.arc(this.screenX[i]!, this.screenY[i]!, DOT, 0, 2 * Math.PI);
        }
        ctx.fill();
      }
    }
    this.drawMarks(ctx);
    if (this.lassoPath && this.lassoPath.length > 1) {
      ctx.strokeStyle = '#1d4ed8';
      ctx.fillStyle = 'rgb(29 78 216 / 0.08)';
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      this.lassoPath.forEach(([px, py], k) => (k === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  private drawThumb(ctx: CanvasRenderingContext2D, i: number, image: ImageBitmap | undefined, colour: string): void {
    const cx = this.screenX[i]!;
    const cy = this.screenY[i]!;
    const s = THUMB;
    ctx.fillStyle = colour;
    ctx.fillRect(cx - s / 2 - 2, cy - s / 2 - 2, s + 4, s + 4);
    if (!image) return;
    const scale = Math.min(s / image.width, s / image.height);
    const w = image.width * scale;
    const hgt = image.height * scale;
    ctx.drawImage(image, cx - w / 2, cy - hgt / 2, w, hgt);
  }

  /** Rings round the lasso's selection and the selected card. */
  private drawMarks(ctx: CanvasRenderingContext2D): void {
    const r = this.points.images ? THUMB / 2 + 4 : DOT + 2.5;
    const ring = (i: number, colour: string, width: number) => {
      if (i >= this.screenX.length) return;
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      if (this.points.images) ctx.strokeRect(this.screenX[i]! - r, this.screenY[i]! - r, 2 * r, 2 * r);
      else {
        ctx.beginPath();
        ctx.arc(this.screenX[i]!, this.screenY[i]!, r, 0, 2 * Math.PI);
        ctx.stroke();
      }
    };
    for (const i of this.selected) ring(i, '#111827', 1.5);
    if (this.current !== undefined) ring(this.current, '#f59e0b', 3);
    ctx.lineWidth = 1;
  }

  private nearest(px: number, py: number): number | undefined {
    const reach = this.points.images ? THUMB / 2 + 2 : HIT_PX;
    let best: number | undefined;
    let bestD = Infinity;
    for (let i = 0; i < this.screenX.length; i++) {
      const dx = Math.abs(this.screenX[i]! - px);
      const dy = Math.abs(this.screenY[i]! - py);
      if (dx > reach || dy > reach) continue;
      const d = dx * dx + dy * dy;
      if (d < bestD) [best, bestD] = [i, d];
    }
    return best;
  }

  /** Points inside the closed path (even-odd rule). */
  private inside(path: readonly [number, number][]): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.screenX.length; i++) {
      const px = this.screenX[i]!;
      const py = this.screenY[i]!;
      let inside = false;
      for (let a = 0, b = path.length - 1; a < path.length; b = a++) {
        const [ax, ay] = path[a]!;
        const [bx, by] = path[b]!;
        if (ay > py !== by > py && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
      }
      if (inside) out.push(i);
    }
    return out;
  }
}
