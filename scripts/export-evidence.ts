// Kept for `KMS_TOKEN=<token> npx tsx scripts/export-evidence.ts <key-id> [--url URL] [--from ISO] [--to ISO]
// [--out FILE] [--key-out PEM]`: it is `kms export-evidence` (apps/kms-cli), which adds a progress bar.
process.argv.splice(2, 0, 'export-evidence');
void import('../apps/kms-cli/src/main');
