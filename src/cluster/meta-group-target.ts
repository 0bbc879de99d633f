/**
 * Which meta a replica server talks to (the follower's side of the election). It starts with
 * the first meta of `[meta_server] server_list`, moves to the primary a backup names in its
 * beacon ack, and to the next listed meta when the current one does not answer or is a backup
 * that knows no primary.
 */
export class MetaGroupTarget {
  private readonly metas: string[];
  private index = 0;
  private learned: string | undefined;

  constructor(metas: readonly string[]) {
    if (metas.length === 0) throw new Error('no meta server given');
    this.metas = [...metas];
  }

  /** The meta to send to now. */
  get current(): string {
    return this.learned ?? this.metas[this.index]!;
  }

  get list(): readonly string[] {
    return this.metas;
  }

  /**
   * The current meta answered as a backup naming `leader` (undefined: it knows none, so try the
   * next one). A meta naming itself is becoming the primary: stay. Returns the meta to use.
   */
  redirected(leader: string | undefined): string {
    if (leader === undefined) return this.unreachable();
    if (leader === this.current) return this.current;
    const listed = this.metas.indexOf(leader);
    if (listed >= 0) {
      this.index = listed;
      this.learned = undefined;
    } else {
      // A primary outside the configured list (the list is stale): follow it until it fails.
      this.learned = leader;
    }
    return this.current;
  }

  /** The current meta did not answer: try the next listed one. Returns it. */
  unreachable(): string {
    if (this.learned !== undefined) this.learned = undefined;
    else this.index = (this.index + 1) % this.metas.length;
    return this.current;
  }
}
