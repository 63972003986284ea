import { execFileSync } from 'node:child_process';

/**
 * A TOTP code computed by Debian's oathtool (an implementation independent of the service's otplib)
 * for the base32 secret at `at`. oathtool must be installed (scripts/setup.sh installs it).
 */
export function oathtoolTotp(secret: string, at: Date): string {
  const now = at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', `--now=${now}`, secret], { encoding: 'utf8' }).trim();
}
