/**
 * Minimal command-line client: `npx tsx scripts/kms.ts <Method> '<json request>' [--get <field>]`.
 * With --get, only that top-level field of the response is printed (for shell scripts).
 * Requests and responses use the proto's field names; bytes are base64, as in grpcurl.
 * KMS_ADDRESS (default 127.0.0.1:50051) selects the server; KMS_TOKEN is sent as the bearer token.
 */
import { ALL_METHODS, createKmsClient, KmsCallError, type KmsMethod } from '@kms/contracts';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const getAt = args.indexOf('--get');
  const field = getAt >= 0 ? args[getAt + 1] : undefined;
  if (getAt >= 0) args.splice(getAt, 2);
  const [method, body = '{}'] = args;
  if (!method || !(ALL_METHODS as readonly string[]).includes(method)) {
    console.error(`usage: kms.ts <${ALL_METHODS.join('|')}> '<json>' [--get <field>]`);
    return 2;
  }
  let request: Record<string, unknown>;
  try {
    request = JSON.parse(body) as Record<string, unknown>;
  } catch {
    console.error('the request is not valid JSON');
    return 2;
  }
  const client = createKmsClient(process.env['KMS_ADDRESS'] ?? '127.0.0.1:50051');
  try {
    const response = await client.call(method as KmsMethod, request, process.env['KMS_TOKEN'] ? { token: process.env['KMS_TOKEN'] } : {});
    const text = JSON.stringify(
      field === undefined ? response : response[field],
      (_k, v: unknown) => {
        if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') {
          return Buffer.from((v as { data: number[] }).data).toString('base64');
        }
        return v;
      },
      2,
    );
    // A single string or bytes field prints bare (bytes as base64), so shells can capture it.
    const value = field === undefined ? undefined : response[field];
    if (Buffer.isBuffer(value)) console.log(value.toString('base64'));
    else console.log(typeof value === 'string' ? value : text);
    return 0;
  } catch (e) {
    if (e instanceof KmsCallError) {
      console.error(`error: ${e.errorCode ?? e.code}${e.field ? ` (field ${e.field})` : ''}: ${e.details}`);
      return 1;
    }
    throw e;
  } finally {
    client.close();
  }
}

main().then((code) => process.exit(code));
