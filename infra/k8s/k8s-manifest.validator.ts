// Validates Kubernetes manifests against the official API schemas with a JSON Schema validator (ajv),
// as kubeconform does (kubeconform itself cannot be installed from the registries this project uses).
//
// Schemas: the Kubernetes OpenAPI definitions as JSON Schema, as shipped by the npm package
// kubernetes-models@4.3.1 (MIT; generated from the Kubernetes 1.27 OpenAPI spec). It is the newest
// release that ships them as JSON Schema; later releases ship only precompiled validators, and no npm
// package ships the 1.30 schemas. The manifests use no field added after 1.27.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { loadAll } from 'js-yaml';

/** apiVersion/kind -> the definition name in the OpenAPI spec. */
const DEFINITIONS: Record<string, string> = {
  'v1/ConfigMap': 'io.k8s.api.core.v1.ConfigMap',
  'v1/Secret': 'io.k8s.api.core.v1.Secret',
  'v1/Service': 'io.k8s.api.core.v1.Service',
  'v1/ServiceAccount': 'io.k8s.api.core.v1.ServiceAccount',
  'v1/PersistentVolumeClaim': 'io.k8s.api.core.v1.PersistentVolumeClaim',
  'apps/v1/Deployment': 'io.k8s.api.apps.v1.Deployment',
  'batch/v1/Job': 'io.k8s.api.batch.v1.Job',
  'batch/v1/CronJob': 'io.k8s.api.batch.v1.CronJob',
  'networking.k8s.io/v1/NetworkPolicy': 'io.k8s.api.networking.v1.NetworkPolicy',
  'policy/v1/PodDisruptionBudget': 'io.k8s.api.policy.v1.PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/Role': 'io.k8s.api.rbac.v1.Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'io.k8s.api.rbac.v1.RoleBinding',
};

/** `io.k8s.api.apps.v1.Deployment` -> the package's module file `IoK8sApiAppsV1Deployment.js`. */
const moduleFile = (definition: string): string =>
  `${definition
    .split('.')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('')}.js`;

/**
 * The raw schemas, by definition name. Each module of the package registers its schema (and those it
 * references) with `register(id, schema)` of @kubernetes-models/validate; we record them as they are
 * registered, since the modules do not export the schema objects themselves.
 */
function loadSchemas(): Map<string, object> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const registry = require('@kubernetes-models/validate') as { register: (id: string, schema: object) => void };
  const schemas = new Map<string, object>();
  const original = registry.register;
  registry.register = (id, schema) => {
    schemas.set(id, schema);
    original(id, schema);
  };
  try {
    const dir = join(dirname(require.resolve('kubernetes-models')), '_schemas');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const definition of Object.values(DEFINITIONS)) (require(join(dir, moduleFile(definition))) as { addSchema: () => void }).addSchema();
  } finally {
    registry.register = original;
  }
  return schemas;
}

/**
 * The "strict" flavour (kubeconform -strict, kubectl's field validation): an object schema that lists
 * its properties refuses any other, so a misspelled field (`readinesProbe`) is an error, not ignored.
 */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = strict(v);
  if (out['properties'] && out['additionalProperties'] === undefined && !out['x-kubernetes-preserve-unknown-fields']) out['additionalProperties'] = false;
  return out;
}

let validators: Map<string, ValidateFunction> | undefined;

function compiled(): Map<string, ValidateFunction> {
  if (validators) return validators;
  // Formats (int32, quantity, date-time…) are the API server's business; types, required fields and
  // unknown fields are what a manifest gets wrong.
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  for (const [id, schema] of loadSchemas()) ajv.addSchema(strict(schema) as object, id);
  validators = new Map(Object.entries(DEFINITIONS).map(([kind, id]) => [kind, ajv.getSchema(id) as ValidateFunction]));
  return validators;
}

/** One problem of one document: where, and what the schema says. */
export interface ManifestError {
  resource: string;
  path: string;
  message: string;
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'enum') return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  return e.message ?? e.keyword;
}

/** Validate one parsed manifest; [] when it is valid. */
export function validateManifest(doc: unknown): ManifestError[] {
  const d = doc as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
  const kind = `${d?.apiVersion}/${d?.kind}`;
  const resource = `${kind} ${d?.metadata?.name ?? '(no name)'}`;
  const validate = compiled().get(kind);
  if (!validate) return [{ resource, path: '', message: `no schema for ${kind}; known: ${Object.keys(DEFINITIONS).join(', ')}` }];
  if (validate(doc)) return [];
  // `oneOf [ref, null]` wrappers repeat each error as "must be null" / "must match exactly one": keep the real one.
  const errors = (validate.errors ?? []).filter((e) => !(e.keyword === 'type' && (e.params as { type?: string }).type === 'null') && e.keyword !== 'oneOf');
  return (errors.length > 0 ? errors : (validate.errors ?? [])).map((e) => ({ resource, path: e.instancePath || '/', message: describe(e) }));
}

/** Every document of a YAML file (`---` separated), parsed. */
export function readManifests(file: string): unknown[] {
  return loadAll(readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);
}
