import { BadRequestException, Controller, Get, Header, Inject, Query } from '@nestjs/common';
import type { JwkSet } from '@kms/notices';
import { NoticesRuntime } from '../notices.runtime';

/** GET /.well-known/jwks.json?tenant=<tenant>: public keys of the tenant's enabled signing-key versions. */
@Controller('.well-known')
export class JwksController {
  constructor(@Inject(NoticesRuntime) private readonly runtime: NoticesRuntime) {}

  @Get('jwks.json')
  // Short: a rotation must reach verifiers well within the 24 h the policy allows.
  @Header('Cache-Control', 'public, max-age=60')
  async jwks(@Query('tenant') tenant: string | undefined): Promise<JwkSet> {
    if (!tenant || !/^[A-Za-z0-9._-]{1,128}$/.test(tenant)) throw new BadRequestException({ field: 'tenant', message: 'tenant is required (letters, digits, . _ -)' });
    return this.runtime.jwks.jwks(tenant);
  }
}
