// Refreshing the access token. The refresh token is single-use and lives in a cookie that
// every tab of the browser shares, so two refreshes must never overlap: in a tab, callers
// share the flight in progress; across tabs, flights take turns through a Web Lock. A tab
// that waited for another tab's refresh still refreshes itself afterwards: the cookie jar
// already holds the rotated token, so a refresh after another is always fine.

/** Runs `fn` while holding the lock `name`. */
export type Lock = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

export const REFRESH_LOCK = 'ocomms-refresh';

/** The browser's Web Locks (shared by the tabs of this origin), or none where there are none. */
export function browserLock(): Lock {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks?.request) return (_name, fn) => fn();
  return <T,>(name: string, fn: () => Promise<T>) => locks.request(name, fn) as Promise<T>;
}

/** `run` at most once at a time: a call while one is in flight gets that flight's result. */
export function singleFlight<T>(run: () => Promise<T>, lock: Lock, name = REFRESH_LOCK): () => Promise<T> {
  let flight: Promise<T> | null = null;
  return () => {
    flight ??= lock(name, run).finally(() => {
      flight = null;
    });
    return flight;
  };
}
