// Kept for the older form `npx tsx scripts/kms.ts <Method> '<json>' [--get <field>]` (also printed by the
// key service on first start): it is the `kms` CLI (apps/kms-cli, package bin `kms`), which accepts
// every method by its proto name. Prefer `npx kms …`; see `npx kms --help`.
import '../apps/kms-cli/src/main';
