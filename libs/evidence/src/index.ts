export * from './canonical-json';
export * from './key-origin-statement';
