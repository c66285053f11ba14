/**
 * The forest's pool tasks: the module the stage names in its runAll calls, so each worker imports the forest's code
 * once. Everything here is a pure function of its arguments: the same inputs give the same trees on any thread.
 *
 * - binFeatures (random-forest/bins.ts): quantizes a range of features into ≤256 bins, written into shared memory.
 * - growTree (random-forest/grow.ts): one CART tree over the binned data, returned as flat typed arrays.
 */
export { binFeatures, MAX_BINS, type BinnedData } from './random-forest/bins.js';
export { growTree, type TreeArrays, type TreeOptions } from './random-forest/grow.js';
