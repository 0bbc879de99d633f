// The lease invariants the simulator checks whenever a replica server answers a client as
// primary, after every step of its meta link, on its every tick and when the meta declares it
// dead, from what the simulated meta really did (not from what the server's link believes):
//   - a server's lease is valid (and it serves) only within the lease of sending a beacon that
//     the primary meta acknowledged;
//   - once the meta declared a server dead, the server has stopped serving (the meta waits a
//     grace period longer than the lease), and it serves again only after it received the
//     answer to a config sync that the meta gave after that declaration: until then it may
//     still lead a partition the meta has handed on.
// A server's lease becomes valid only in a step of its link, and the meta's facts weaken only
// by time (checked on the tick) and by a death declaration: so this is as strict as a check
// after every event, at a fraction of the cost.
import type { SimMeta } from './meta.ts';
import type { SimNode } from './node.ts';

export class LeaseChecker {
  constructor(
    private readonly meta: SimMeta,
    private readonly leaseMs: number,
    private readonly nowMs: () => number,
    private readonly violation: (text: string) => void,
  ) {}

  /** A valid lease has what it needs. */
  checkLease(node: SimNode): void {
    if (node.up && node.leaseValid) this.check(node, 'holds a valid lease');
  }

  /** `node` answers a client as primary. */
  checkServing(node: SimNode, what: string): void {
    if (node.core?.role !== 'primary') this.violation(`${node.name} serves ${what} as ${node.core?.role ?? 'no replica'}`);
    this.check(node, `serves ${what} as primary`);
  }

  private check(node: SimNode, doing: string): void {
    const ackedMs = this.meta.lastAckedBeaconSentMs(node.name);
    if (!(this.nowMs() - ackedMs < this.leaseMs)) {
      this.violation(`${node.name} ${doing} at ${this.nowMs()}, but the primary meta acknowledged no beacon it sent since ${this.nowMs() - this.leaseMs} (last ${ackedMs})`);
    }
    const deathSeq = this.meta.lastDeathSeq(node.name);
    if (deathSeq !== undefined && node.syncAnswerSeq <= deathSeq) {
      this.violation(`${node.name} ${doing} at ${this.nowMs()}, but the meta declared it dead (#${deathSeq}) and it has had no config sync answered since (last #${node.syncAnswerSeq})`);
    }
  }
}
