/**
 * What a row of pixels is: height × width pixels of `channels` values each (1 grey, 3 RGB), row-major, channels
 * interleaved (the layout of a decoded photo). Travels with the data into stages, reports and model files.
 */
export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

/** Values in one image of this shape. */
export function shapeSize(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}

/** "64×64 RGB", "28×28 grey": for reports and errors. */
export function describeShape(shape: ImageShape): string {
  return `${shape.width}×${shape.height} ${shape.channels === 3 ? 'RGB' : 'grey'}`;
}
