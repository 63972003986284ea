import { BadRequestException, Controller, Get, Module, UnauthorizedException } from '@nestjs/common';
import { createHttpApp } from './http-app';

@Controller('probe')
class ProbeController {
  @Get('bad')
  bad(): never {
    throw new BadRequestException({ field: 'limit', message: 'limit must be an integer from 1 to 500' });
  }

  @Get('unauthorized')
  unauthorized(): never {
    throw new UnauthorizedException('a valid bearer token is required');
  }

  @Get('bug')
  bug(): never {
    throw new Error('secret internals: connection string postgres://user:pw@db');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('one HTTP error format (RFC 9457 problem details) on every endpoint', () => {
  let url = '';
  let close: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    const { app, url: u } = await createHttpApp(ProbeModule, { host: '127.0.0.1', port: 0 }, { logger: false });
    url = u;
    close = () => app.close();
  });

  afterAll(() => close());

  async function problem(path: string): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
  }

  it('names the field of a bad request', async () => {
    const p = await problem('/probe/bad');
    expect(p.status).toBe(400);
    expect(p.type).toContain('application/problem+json');
    expect(p.body).toEqual({
      type: 'https://open-kms.dev/problems/invalid-argument',
      title: 'INVALID_ARGUMENT',
      status: 400,
      code: 'INVALID_ARGUMENT',
      detail: 'limit must be an integer from 1 to 500',
      field: 'limit',
    });
  });

  it('answers a refusal, an unknown route and a bug in the same shape, a bug without its details', async () => {
    expect(await problem('/probe/unauthorized')).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', status: 401, detail: 'a valid bearer token is required' } });
    expect(await problem('/nowhere')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND', status: 404 } });
    const bug = await problem('/probe/bug');
    expect(bug).toMatchObject({ status: 500, type: expect.stringContaining('application/problem+json'), body: { code: 'INTERNAL', detail: 'internal error' } });
    expect(JSON.stringify(bug.body)).not.toContain('postgres://');
  });
});
