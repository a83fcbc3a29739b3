/**
 * Whole-workflow progress: every node weighs the same; a node counts once finished (executed, cached, or
 * left behind when the next one starts) and the running node adds its own value/max. Never goes back.
 */
export class WorkflowProgress {
  private readonly nodes: ReadonlySet<string>;
  private readonly finished = new Set<string>();
  private current: { node: string; fraction: number } | null = null;
  private best = 0;

  constructor(nodeIds: Iterable<string>) {
    this.nodes = new Set(nodeIds);
  }

  /** Forgets a dispatch's state (a new server runs the whole prompt again) but keeps the high-water mark. */
  restart(): void {
    this.finished.clear();
    this.current = null;
  }

  cached(nodes: readonly string[]): void {
    for (const node of nodes) if (this.nodes.has(node)) this.finished.add(node);
  }

  executing(node: string | null): void {
    if (this.current) this.finished.add(this.current.node);
    this.current = node && this.nodes.has(node) ? { node, fraction: 0 } : null;
  }

  step(node: string | null | undefined, value: number, max: number): void {
    if (!node || !this.nodes.has(node) || !(max > 0)) return;
    if (!this.current || this.current.node !== node) {
      if (this.current) this.finished.add(this.current.node);
      this.current = { node, fraction: 0 };
    }
    this.current.fraction = Math.max(this.current.fraction, Math.min(1, value / max));
  }

  executed(node: string): void {
    if (this.nodes.has(node)) this.finished.add(node);
    if (this.current?.node === node) this.current = null;
  }

  /** In [0, 0.99]: the last percent is reached only at success. */
  fraction(): number {
    const running = this.current && !this.finished.has(this.current.node) ? this.current.fraction : 0;
    const now = this.nodes.size ? (this.finished.size + running) / this.nodes.size : 0;
    this.best = Math.max(this.best, Math.min(0.99, now));
    return this.best;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  get finishedCount(): number {
    return this.finished.size;
  }
}
