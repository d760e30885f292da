/** The IndexStore contract (index-store.contract.ts) on LanceDB, each test in a fresh folder. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { LanceIndexStore } from '../src/adapters/lancedb-store.ts';
import { indexStoreContract } from './index-store.contract.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

indexStoreContract('LanceIndexStore', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reel-store-contract-'));
  dirs.push(dir);
  return LanceIndexStore.open({ dir });
});
