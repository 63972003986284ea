import { generateKeyPairSync, sign } from 'node:crypto';
import { parseCheckpointBody, signCheckpoint, verifyCheckpointNote, type NoteSigner } from './checkpoint-note';
import { rootHash, leafHash } from './merkle-tree';

function signer(): { s: NoteSigner; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  return { pem, s: { publicKeyPem: async () => pem, sign: async (d) => sign('sha256', d, { key: privateKey, dsaEncoding: 'der' }) } };
}

const checkpoint = { origin: 'kms.test/ledger/events', treeSize: 3, rootHash: rootHash([1, 2, 3].map((i) => leafHash(Buffer.of(i)))), time: '2026-03-01T09:00:00.000Z' };

describe('signed checkpoint notes', () => {
  it('given a signed checkpoint, then it verifies and parses back to the same tree head', async () => {
    const { s, pem } = signer();
    const note = await signCheckpoint(checkpoint, s);
    expect(note.split('\n').slice(0, 5)).toEqual(['kms.test/ledger/events', '3', checkpoint.rootHash.toString('base64'), 'time 2026-03-01T09:00:00.000Z', '']);
    expect(note).toMatch(/\n\n\u2014 kms\.test\/ledger\/events [A-Za-z0-9+/=]+\n$/);
    const v = verifyCheckpointNote(note, pem, checkpoint.origin);
    expect(v).toEqual({ valid: true, checkpoint });
    expect(parseCheckpointBody(note.slice(0, note.indexOf('\n\n') + 1))).toEqual(checkpoint);
  });

  it('refuses an altered size, another origin, or another key', async () => {
    const { s, pem } = signer();
    const note = await signCheckpoint(checkpoint, s);
    expect(verifyCheckpointNote(note.replace('\n3\n', '\n4\n'), pem)).toMatchObject({ valid: false, reason: expect.stringContaining('signature does not match') });
    expect(verifyCheckpointNote(note, pem, 'kms.test/ledger/audit')).toMatchObject({ valid: false, reason: expect.stringContaining('expected') });
    expect(verifyCheckpointNote(note, signer().pem)).toMatchObject({ valid: false, reason: expect.stringContaining('no signature by the given') });
  });
});
