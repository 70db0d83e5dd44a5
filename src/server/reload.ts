// Policy hot reload: on SIGHUP and when the config file changes. A file that
// does not load keeps the running configuration, and the log says why.
import { watch, type FSWatcher } from 'node:fs';
import { loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

export interface ReloadTarget {
  reload(next: Config): Promise<string[]>;
}

export interface ReloadHooks {
  log: (msg: string, extra?: Record<string, unknown>) => void;
  onResult?: (ok: boolean, detail: string) => void;
}

export function watchConfig(path: string, target: ReloadTarget, hooks: ReloadHooks): () => void {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const reload = (why: string): void => {
    running = running.then(async () => {
      let next: Config;
      try {
        next = loadConfigFile(path).config;
      } catch (err) {
        hooks.log('config reload refused: keeping the running policy', { why, error: (err as Error).message });
        hooks.onResult?.(false, (err as Error).message);
        return;
      }
      const notes = await target.reload(next);
      hooks.log('config reloaded', { why, notes });
      hooks.onResult?.(true, notes.join('; '));
    });
  };
  const onSignal = (): void => reload('SIGHUP');
  process.on('SIGHUP', onSignal);
  let watcher: FSWatcher | null = null;
  try {
    // Editors replace files; watching keeps working for in-place writes and renames within the directory.
    watcher = watch(path, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => reload('file changed'), 200);
    });
  } catch (err) {
    hooks.log('cannot watch the config file; reload with SIGHUP', { error: (err as Error).message });
  }
  return () => {
    process.off('SIGHUP', onSignal);
    watcher?.close();
    if (timer) clearTimeout(timer);
  };
}
