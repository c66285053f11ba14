import { z } from 'zod';

/** Where the images come from. Paths in the file are relative to the pipeline file's folder. */
export const DataSection = z
  .object({
    /** idx: the four official files in a folder (default: the bundled copy); csv: Kaggle's label,pixel1..pixel784 files. */
    format: z.enum(['idx', 'csv']).default('idx'),
    /** IDX folder; --data and $FASHION_MNIST_DIR take precedence. */
    dir: z.string().min(1).optional(),
    /** CSV files (format csv). */
    train: z.string().min(1).optional(),
    test: z.string().min(1).optional(),
    /** Stratified subsets for quick runs: at most this many rows of each split, class proportions kept. */
    limit: z
      .object({
        train: z.int().min(20).optional(),
        test: z.int().min(10).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type DataSection = z.infer<typeof DataSection>;

export const EvaluationSection = z
  .object({
    /** Stratified folds on the training set; 0 turns cross-validation off (as --no-cv does). */
    folds: z.union([z.literal(0), z.int().min(2).max(100)]).default(5),
    seed: z.int().min(0).max(4294967295).default(42),
    /** Fit on the whole training set and evaluate once on the test set. */
    test: z.boolean().default(true),
  })
  .strict();
export type EvaluationSection = z.infer<typeof EvaluationSection>;

/** Report names other commands write in the results folder (show: data.md, compare: COMPARISON.md). */
const RESERVED_NAMES = ['data', 'COMPARISON'];

export const PipelineFile = z
  .object({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
        'name must be letters, digits, ".", "_" or "-" (it names the report files)',
      )
      .refine((n) => !RESERVED_NAMES.includes(n), {
        message: `name must not be ${RESERVED_NAMES.join(' or ')}: pipeline show and pipeline compare write those reports`,
      }),
    description: z.string().optional(),
    data: DataSection.default({ format: 'idx' }),
    /** Ordered stages, each a one-key map `{stage: params}`; validated against the registry separately. */
    steps: z.array(z.unknown()).min(1, 'steps needs at least one stage'),
    evaluation: EvaluationSection.default({ folds: 5, seed: 42, test: true }),
    /** Params to search with `pipeline grid`: `step.param: [values]`, or a list of such maps; checked in grid.ts. */
    grid: z.unknown().optional(),
  })
  .strict();
