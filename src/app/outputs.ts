import { writeFilesAtomic, WriteError, type PlannedOutput } from '../report/write.js';
import { UserError } from '../util/errors.js';

/** The reports named after a pipeline in --out (and their pictures' folder): what checkOutputs is given. */
export function reportOutputs(out: string, name: string, withFolder = false): PlannedOutput {
  return {
    what: `--out ${out}`,
    dir: out,
    names: [`${name}.md`, `${name}.json`, ...(withFolder ? [name] : [])],
    longNameFix: "shorten the pipeline's name",
  };
}

/**
 * Saves a model after its reports were written, so a failed save (a full disk) never loses them: the error says the
 * reports are there.
 */
export function saveModelAfterReports(model: { path: string; content: Uint8Array }, reports: string[]): void {
  try {
    writeFilesAtomic([model]);
  } catch (err) {
    if (!(err instanceof WriteError)) throw err;
    throw new UserError(
      `${model.path}: cannot save the model: ${err.reason}; the reports were written: ${reports.join(' and ')}`,
      1,
    );
  }
}
