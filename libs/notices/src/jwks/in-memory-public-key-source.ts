import type { PublicKeySource, PublicKeyVersionRef } from './public-key-source.port';

/** Public keys held in a map by `<keyId>:<version>`, for tests. */
export class InMemoryPublicKeySource implements PublicKeySource {
  private readonly keys = new Map<string, Buffer>();
  /** How many times each kid was asked for (cache checks). */
  readonly reads = new Map<string, number>();

  put(keyId: string, version: number, spki: Buffer): void {
    this.keys.set(`${keyId}:${version}`, spki);
  }

  async spki(ref: PublicKeyVersionRef): Promise<Buffer> {
    const kid = `${ref.keyId}:${ref.version}`;
    this.reads.set(kid, (this.reads.get(kid) ?? 0) + 1);
    const spki = this.keys.get(kid);
    if (!spki) throw new Error(`no public key for ${kid}`);
    return spki;
  }
}
