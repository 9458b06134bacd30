import { describe, expect, it } from 'vitest';
import { singleFlight, type Lock } from './refresh';

/** A lock shared by several "tabs": one holder at a time, the others queue in order. */
function sharedLock(): Lock {
  let tail: Promise<unknown> = Promise.resolve();
  return <T,>(_name: string, fn: () => Promise<T>) => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('singleFlight', () => {
  it('shares one refresh among the callers of a tab', async () => {
    let runs = 0;
    const refresh = singleFlight(async () => {
      runs++;
      await tick();
      return `token-${runs}`;
    }, sharedLock());
    const [a, b] = await Promise.all([refresh(), refresh()]);
    expect([a, b, runs]).toEqual(['token-1', 'token-1', 1]);
    expect(await refresh()).toBe('token-2');
  });

  it('never lets two tabs refresh at once, and each tab still refreshes after the other', async () => {
    const lock = sharedLock();
    let inside = 0;
    let most = 0;
    const spent: number[] = [];
    let cookie = 1;
    const tab = () =>
      singleFlight(async () => {
        inside++;
        most = Math.max(most, inside);
        const presented = cookie;
        await tick();
        spent.push(presented);
        cookie = presented + 1;
        inside--;
        return presented;
      }, lock);
    const [one, two] = [tab(), tab()];
    await Promise.all([one(), two(), one(), two()]);
    expect(most).toBe(1);
    // Each token was presented once, in turn: none replayed.
    expect(spent).toEqual([1, 2]);
  });

  it('tries again after a failed flight', async () => {
    let runs = 0;
    const refresh = singleFlight(async () => {
      runs++;
      if (runs === 1) throw new Error('offline');
      return 'ok';
    }, sharedLock());
    await expect(refresh()).rejects.toThrow('offline');
    expect(await refresh()).toBe('ok');
  });
});
