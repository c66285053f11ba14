import type { Matrix } from '../linalg/matrix.js';
import { ModelError, numberField } from './snapshot.js';
import { BaseStage, checkFeatures, checkXy, ParamRangeError, type Snapshot, type Transformer } from './stage.js';

/**
 * Transformers that learn nothing from their training rows but their width (grey, colour_histogram, lbp, flip): fit checks
 * the params can take rows of that width, and the width is the whole fitted state a model file keeps.
 */
export abstract class WidthOnlyTransformer<P extends object>
  extends BaseStage<P, { features: number }>
  implements Transformer<P>
{
  readonly kind = 'transformer' as const;

  /** Throws ParamRangeError (naming the param) when these params cannot take rows of `features` values. */
  protected abstract checkInput(features: number): void;

  abstract transform(X: Matrix): Promise<Matrix>;

  async fit(X: Matrix, y: Uint8Array): Promise<this> {
    checkXy(this.name, X, y);
    this.checkInput(X.cols);
    this.state = { features: X.cols };
    return this;
  }

  /** The width fitted on, after checking X has it. */
  protected fittedWidth(X: Matrix): number {
    checkFeatures(this.name, X, this.state.features);
    return this.state.features;
  }

  protected encode(f: { features: number }): Snapshot {
    return { features: f.features };
  }

  protected decode(s: Snapshot): { features: number } {
    const features = numberField(s, 'features', true);
    try {
      this.checkInput(features);
    } catch (err) {
      if (err instanceof ParamRangeError) throw new ModelError(`model file: ${this.name}: ${err.message}`);
      throw err;
    }
    return { features };
  }
}
