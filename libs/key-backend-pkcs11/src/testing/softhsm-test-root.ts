import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * Where tests and benchmarks keep their SoftHSM2 token folders: `.kms-state/test` of this checkout
 * (git-ignored, like the product's own token), never a global token directory. Created when missing.
 */
export async function softHsmTestRoot(): Promise<string> {
  const root = join(resolve(__dirname, '../../../..'), '.kms-state', 'test');
  await mkdir(root, { recursive: true, mode: 0o700 });
  return root;
}
