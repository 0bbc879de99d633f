import type { HttpRouter } from '../net/index.ts';

export function registerPprofCalls(router: HttpRouter): void {
  void router;
}
