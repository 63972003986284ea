import { Controller, Get, HttpException, Inject, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONSOLE_SECURITY_HEADERS, ConsoleAssets } from './console-assets';

/** Serves the built console (apps/console) at /console/ with its security headers (docs/console.md). */
@Controller()
export class ConsoleAssetsController {
  constructor(@Inject(ConsoleAssets) private readonly assets: ConsoleAssets) {}

  @Get(['console', 'console/*path'])
  async serve(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) res.setHeader(name, value);
    const a = await this.assets.answer(req.url ?? '/console/');
    switch (a.kind) {
      case 'redirect':
        res.statusCode = a.status;
        res.setHeader('location', a.location);
        res.end();
        return;
      case 'problem':
        res.setHeader('cache-control', 'no-store');
        throw new HttpException({ code: a.code, message: a.message, ...(a.field ? { field: a.field } : {}) }, a.status);
      case 'file':
        res.statusCode = a.status;
        for (const [name, value] of Object.entries(a.headers)) res.setHeader(name, value);
        res.end(req.method === 'HEAD' ? undefined : a.body);
        return;
      default: {
        const never: never = a;
        return never;
      }
    }
  }
}
