// Result objects: what commands and the session itself put into a session's stream and into an
// `exec` response. Every result has a `type` and the `jobId` that produced it (0 for results of
// the session itself). Field names follow Arthas's result models, so its clients can read them.

export type ResultFields = { type: string } & Record<string, unknown>;

export interface Result extends ResultFields {
  jobId: number;
}

export type InputStatus = 'ALLOW_INPUT' | 'ALLOW_INTERRUPT' | 'DISABLED';

/** The job id of results that belong to the session rather than to a job. */
export const SESSION_JOB_ID = 0;

/** Exit codes a job's `status` result carries. */
export const STATUS_OK = 0;
/** The command failed (bad input it could check itself, or an error while running). */
export const STATUS_ERROR = 1;
/** Argument parsing failed, or the job was ended from outside (job timeout, `kill`, `-h`). */
export const STATUS_TERMINATED = -10;

/** Arthas's models print keys in ascending order; doing the same keeps responses diffable. */
export function sortedFields<T extends Record<string, unknown>>(fields: T): T {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(fields).sort()) {
    const value = fields[key];
    if (value !== undefined && value !== null) sorted[key] = value;
  }
  return sorted as T;
}

export function makeResult(jobId: number, fields: ResultFields): Result {
  return sortedFields({ ...fields, jobId }) as Result;
}

export function statusResult(jobId: number, statusCode: number, message?: string): Result {
  return makeResult(jobId, { type: 'status', statusCode, message });
}

export function inputStatusResult(inputStatus: InputStatus): Result {
  return makeResult(SESSION_JOB_ID, { type: 'input_status', inputStatus });
}

export function messageResult(jobId: number, message: string): Result {
  return makeResult(jobId, { type: 'message', message });
}

/**
 * How much a result weighs in one `pull_results` answer: the sizes of its collection fields,
 * at least 1. It keeps big results (thread lists, dashboards) from piling up in one response.
 */
export function resultItemCount(result: Result): number {
  let count = 0;
  for (const value of Object.values(result)) {
    if (Array.isArray(value)) count += value.length;
    else if (value instanceof Map || value instanceof Set) count += value.size;
    else if (value !== null && typeof value === 'object') count += Object.keys(value).length;
  }
  return Math.max(1, count);
}
