import type { TrainingDataSpec } from '../app/training-data-spec.js';
import type { FitJob, JobResult } from '../evaluate/fit-and-score.js';

/** What goes over the wire to a worker: the one unit of work (plain JSON) and how to load the data it names. */
export interface QueuedFit {
  job: FitJob;
  data: TrainingDataSpec;
  /** For people watching the queue (and worker logs): the grid params this job scores. */
  params: Record<string, unknown>;
  /** UnitOptions.sharedSize: a worker that runs this group's jobs one after another shares one k-NN search. */
  sharedSize?: number;
}

/** What comes back: the unit's result, where and how long. */
export interface FitOutcome {
  result: JobResult;
  host: string;
  pid: number;
  timings: {
    /** Added → taken by this worker. */
    wait_ms: number;
    /** Loading and checking the data (0 once loaded). */
    load_ms: number;
    /** fitAndScore. */
    run_ms: number;
  };
}
