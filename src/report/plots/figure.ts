import type { ImageShape } from '../../linalg/shape.js';
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';

/** Text drawn on a figure, kept so tests (and callers) can check labels without reading font pixels. */
export interface DrawnText {
  text: string;
  x: number;
  y: number;
  /** The role a caller gave it ('title', 'class-label', 'caption', …), for finding it again. */
  role: string;
}

/** An image drawn on a figure: where its top-left pixel is, how large one source pixel is, and the caller's id for it. */
export interface Tile {
  x: number;
  y: number;
  side: number;
  scale: number;
  /** The caller's identity for the image (a row index, a class, …). */
  id: number;
  /** Free-form tags ('mistake', 'reference', …). */
  tags: string[];
}

/** An encoded figure with what was drawn on it. */
export interface Picture {
  width: number;
  height: number;
  png: Buffer;
  texts: DrawnText[];
  tiles: Tile[];
}

export interface TextStyle {
  size?: number;
  bold?: boolean;
  color?: string;
  align?: 'left' | 'center' | 'right';
  baseline?: 'top' | 'middle' | 'alphabetic' | 'bottom';
  /** Radians, counter-clockwise negative as canvas has it. */
  rotate?: number;
  role?: string;
}

/** Preferred families in order; DejaVu Sans ships with Debian and has the arrows, ± and χ the captions use. */
const FAMILIES = ['DejaVu Sans', 'Liberation Sans', 'Noto Sans', 'Arial', 'Helvetica'];

let chosenFamily: string | undefined;

/** The font family figures use: the first preferred one installed, else the generic sans-serif. */
export function fontFamily(): string {
  chosenFamily ??= FAMILIES.find((f) => GlobalFonts.has(f)) ?? 'sans-serif';
  return chosenFamily;
}

/** True when any font is installed; without one, text on figures would be blank. */
export function fontsAvailable(): boolean {
  return GlobalFonts.families.length > 0;
}

export const COLORS = {
  ink: '#1f2328',
  muted: '#57606a',
  grid: '#d0d7de',
  paper: '#ffffff',
  right: '#1a7f37',
  wrong: '#cf222e',
  accent: '#0969da',
  accentSoft: '#54aeff',
} as const;

/** A white canvas that records its text and image tiles; `encode()` gives the PNG. */
export class Figure {
  readonly width: number;
  readonly height: number;
  readonly ctx: SKRSContext2D;
  readonly texts: DrawnText[] = [];
  readonly tiles: Tile[] = [];
  readonly #canvas;

  constructor(width: number, height: number) {
    this.width = Math.ceil(width);
    this.height = Math.ceil(height);
    this.#canvas = createCanvas(this.width, this.height);
    this.ctx = this.#canvas.getContext('2d');
    this.ctx.fillStyle = COLORS.paper;
    this.ctx.fillRect(0, 0, this.width, this.height);
  }

  font(size: number, bold = false): string {
    return `${bold ? 'bold ' : ''}${size}px "${fontFamily()}"`;
  }

  /** Width of `text` in pixels at the given size. */
  measure(text: string, size: number, bold = false): number {
    this.ctx.font = this.font(size, bold);
    return this.ctx.measureText(text).width;
  }

  text(text: string, x: number, y: number, style: TextStyle = {}): void {
    const { ctx } = this;
    ctx.save();
    ctx.font = this.font(style.size ?? 13, style.bold);
    ctx.fillStyle = style.color ?? COLORS.ink;
    ctx.textAlign = style.align ?? 'left';
    ctx.textBaseline = style.baseline ?? 'alphabetic';
    ctx.translate(x, y);
    if (style.rotate) ctx.rotate(style.rotate);
    ctx.fillText(text, 0, 0);
    ctx.restore();
    this.texts.push({ text, x, y, role: style.role ?? 'text' });
  }

  rect(x: number, y: number, w: number, h: number, fill: string): void {
    this.ctx.fillStyle = fill;
    this.ctx.fillRect(x, y, w, h);
  }

  /** A frame of `thickness` pixels drawn outside the box (x, y, w, h), so it never covers what is inside. */
  frame(x: number, y: number, w: number, h: number, color: string, thickness = 1): void {
    this.rect(x - thickness, y - thickness, w + 2 * thickness, thickness, color);
    this.rect(x - thickness, y + h, w + 2 * thickness, thickness, color);
    this.rect(x - thickness, y, thickness, h, color);
    this.rect(x + w, y, thickness, h, color);
  }

  line(x1: number, y1: number, x2: number, y2: number, color: string, width = 1): void {
    const { ctx } = this;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
  }

  /**
   * Draws an image (row-major, top row first, values 0..255; grey, 0 = black as in the IDX files, or RGB with
   * `shape`; square grey without it) with its top-left corner at (x, y), each source pixel a `scale`×`scale` block (nearest neighbour, so the
   * pixels stay exact and can be read back).
   */
  image(
    pixels: ArrayLike<number>,
    x: number,
    y: number,
    scale: number,
    id: number,
    tags: string[] = [],
    shape?: ImageShape,
  ): Tile {
    const side = Math.round(Math.sqrt(pixels.length));
    const { height, width, channels } = shape ?? { height: side, width: side, channels: 1 };
    if (height * width * channels !== pixels.length) {
      throw new Error(`image: ${pixels.length} values are not a ${width}×${height}×${channels} image`);
    }
    const img = this.ctx.createImageData(width * scale, height * scale);
    const out = img.data;
    const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const at = (r * width + c) * channels;
        const red = byte(pixels[at]);
        const green = channels === 3 ? byte(pixels[at + 1]) : red;
        const blue = channels === 3 ? byte(pixels[at + 2]) : red;
        for (let dy = 0; dy < scale; dy++) {
          let o = ((r * scale + dy) * width * scale + c * scale) * 4;
          for (let dx = 0; dx < scale; dx++, o += 4) {
            out[o] = red;
            out[o + 1] = green;
            out[o + 2] = blue;
            out[o + 3] = 255;
          }
        }
      }
    }
    const px = Math.round(x);
    const py = Math.round(y);
    this.ctx.putImageData(img, px, py);
    const tile: Tile = { x: px, y: py, side: width, scale, id, tags };
    this.tiles.push(tile);
    return tile;
  }

  async encode(): Promise<Picture> {
    const png = await this.#canvas.encode('png');
    return { width: this.width, height: this.height, png, texts: this.texts, tiles: this.tiles };
  }
}

/** Shortens `text` with an ellipsis until it fits `maxWidth` at the given size. */
export function fitText(figure: Figure, text: string, size: number, maxWidth: number, bold = false): string {
  if (figure.measure(text, size, bold) <= maxWidth) return text;
  let cut = text;
  while (cut.length > 1 && figure.measure(cut + '…', size, bold) > maxWidth) cut = cut.slice(0, -1);
  return cut + '…';
}

/** Linear interpolation between two #rrggbb colours, t in [0, 1]. */
export function mix(from: string, to: string, t: number): string {
  const a = parseInt(from.slice(1), 16);
  const b = parseInt(to.slice(1), 16);
  const k = Math.max(0, Math.min(1, t));
  const ch = (shift: number) => Math.round(((a >> shift) & 255) * (1 - k) + ((b >> shift) & 255) * k);
  return `#${((ch(16) << 16) | (ch(8) << 8) | ch(0)).toString(16).padStart(6, '0')}`;
}

/** Relative luminance of #rrggbb in 0..1 (for choosing black or white text on a coloured cell). */
export function luminance(color: string): number {
  const v = parseInt(color.slice(1), 16);
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin((v >> 16) & 255) + 0.7152 * lin((v >> 8) & 255) + 0.0722 * lin(v & 255);
}

/** Layout shared by every picture: outer margin and the title and subtitle sizes. */
export const MARGIN = 20;
export const TITLE = 17;
export const SUBTITLE = 12;

/** Draws the bold title and the muted subtitle lines at the top left; returns the y where the content may start. */
export function header(fig: Figure, title: string, subtitle: readonly string[]): number {
  let y = MARGIN + TITLE;
  fig.text(title, MARGIN, y, { size: TITLE, bold: true, role: 'title' });
  for (const line of subtitle) {
    y += SUBTITLE + 6;
    fig.text(line, MARGIN, y, { size: SUBTITLE, color: COLORS.muted, role: 'subtitle' });
  }
  return y + 16;
}

/** The width the title and subtitle need, margins included. */
export function headerWidth(fig: Figure, title: string, subtitle: readonly string[]): number {
  return Math.max(fig.measure(title, TITLE, true), ...subtitle.map((s) => fig.measure(s, SUBTITLE))) + 2 * MARGIN;
}
