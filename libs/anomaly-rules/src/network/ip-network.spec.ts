import { RegionMap, isValidCidr, sourceIp } from '../index';

describe('ip networks', () => {
  it.each([
    ['ipv4:127.0.0.1:53422', '127.0.0.1'],
    ['ipv6:[::1]:53422', '::1'],
    ['ipv6:[2001:db8::7]:443', '2001:db8::7'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['unix:/tmp/kms.sock', null],
    [undefined, null],
  ])('the source IP of %s is %s', (addr, ip) => {
    expect(sourceIp(addr)).toBe(ip);
  });

  it('maps addresses to regions by longest prefix, IPv4-mapped IPv6 as IPv4, unknown to the default', () => {
    const m = new RegionMap([{ cidr: '10.0.0.0/8', region: 'a' }, { cidr: '10.5.0.0/16', region: 'b' }, { cidr: 'fd00::/8', region: 'c' }], 'elsewhere');
    expect(['10.1.1.1', '10.5.9.9', '::ffff:10.5.1.1', 'fd12::1', '192.168.1.1', '::1'].map((ip) => m.regionOf(ip))).toEqual(['a', 'b', 'b', 'c', 'elsewhere', 'elsewhere']);
  });

  it('validates CIDR blocks', () => {
    expect(['10.0.0.0/8', '0.0.0.0/0', '2001:db8::/32', '10.1.2.3'].every(isValidCidr)).toBe(true);
    expect(['10.0.0.0/33', '300.0.0.0/8', '2001:db8::/129', 'x/8', '1:2:3:4:5:6:7:8:9/64'].some(isValidCidr)).toBe(false);
  });
});
