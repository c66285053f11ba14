import { z } from 'zod';

/** How photos become rows: decoded, turned upright, resized to width × height and kept in colour or grey. */
export const ImageSection = z
  .object({
    width: z.int().min(4).max(1024).default(64),
    height: z.int().min(4).max(1024).default(64),
    /** 3: RGB; 1: grey (luma). */
    channels: z.union([z.literal(1), z.literal(3)]).default(3),
    /**
     * fill: stretched to the size (every pixel kept, aspect changed); cover: the centre cut to the aspect, then
     * resized; contain: the whole photo inside, white bars around it.
     */
    fit: z.enum(['fill', 'cover', 'contain']).default('fill'),
  })
  .strict();
export type ImageSection = z.infer<typeof ImageSection>;

/** Where the images come from. Paths in the file are relative to the pipeline file's folder. */
export const DataSection = z
  .object({
    /**
     * idx: the four official files in a folder (default: the bundled copy); csv: Kaggle's label,pixel1..pixel784
     * files; folder: labelled photos, one sub-folder per class (optionally under train/, validation/, test/).
     */
    format: z.enum(['idx', 'csv', 'folder']).default('idx'),
    /** IDX folder, or the photo folder (format folder); --data and (IDX) $FASHION_MNIST_DIR take precedence. */
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
    /** Photo folders: how a photo becomes a row (the model file keeps it, so predict and serve do the same). */
    image: ImageSection.optional(),
    /** Photo folders with a validation/ split: fit and choose on it with train/ (train, the default), or leave it out (ignore). */
    validation: z.enum(['train', 'ignore']).optional(),
    /** Photo folders without split sub-folders: the share of each class held out as the test split (stratified, seeded; 0.2 by default). */
    test_fraction: z.number().gt(0).lt(1).optional(),
    /** A photo that cannot be decoded: stop with its name (refuse), or leave it out and list it in the report (skip); refuse by default. */
    bad_photos: z.enum(['refuse', 'skip']).optional(),
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
    /** Params to search with `pipeline grid`: `step.param: [values]`, or a list of such maps; checked in param-grid.ts. */
    grid: z.unknown().optional(),
  })
  .strict();
