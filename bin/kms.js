#!/usr/bin/env node
// The `kms` command of package.json "bin": runs the TypeScript CLI (apps/kms-cli) through tsx, from any
// working directory (the repository's tsconfig gives the @kms/* import paths).
'use strict';
const { join } = require('node:path');

process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || join(__dirname, '..', 'tsconfig.json');
require('tsx/cjs');
require('../apps/kms-cli/src/main.ts');
