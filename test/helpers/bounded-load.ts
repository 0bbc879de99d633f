// A bounded client load for tests that change a cluster under traffic: workers write new keys and
// read back their own until told to stop, remembering every acknowledged write and every failure.
import type { PegasusTable } from '../../src/client/index.ts';

export interface BoundedLoadOptions {
  workers?: number;
  /** The load stops after this many operations at most. */
  opsMax?: number;
}

export class BoundedLoad {
  readonly acked = new Map<string, string>();
  readonly failures: string[] = [];
  ops = 0;
  private stopAt: number;
  private readonly workers: number;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly table: PegasusTable, options: BoundedLoadOptions = {}) {
    this.workers = options.workers ?? 3;
    this.stopAt = options.opsMax ?? 30_000;
  }

  start(): void {
    for (let worker = 0; worker < this.workers; worker++) this.loops.push(this.loop(worker));
  }

  private async loop(worker: number): Promise<void> {
    for (let round = 0; this.ops < this.stopAt; round++) {
      this.ops += 1;
      const hashKey = `w${worker}-${Math.floor(round / 2)}`;
      try {
        if (round % 2 === 0) {
          await this.table.set(hashKey, 's', `v${round}`);
          this.acked.set(hashKey, `v${round}`);
        } else {
          const value = await this.table.get(hashKey, 's');
          if (value?.toString() !== this.acked.get(hashKey)) this.failures.push(`read ${hashKey}: ${value?.toString()}`);
        }
      } catch (error) {
        this.failures.push(`${hashKey}: ${(error as Error).message}`);
      }
    }
  }

  /** Lets the workers run `more` operations at most, then waits for them. */
  async finish(more: number): Promise<void> {
    this.stopAt = Math.min(this.stopAt, this.ops + more);
    await Promise.all(this.loops);
  }
}
