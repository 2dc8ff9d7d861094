// Runs the GraphQL-over-HTTP conformance audits of the `graphql-http` package against the
// server and prints one JSON array: each audit's id, name and status (`ok`, `notice`,
// `warn`, `error`), with the reason when it is not ok. Whether that is good enough is the
// caller's to judge (tests/api/conformance.rs).
// Usage: API_URL=http://127.0.0.1:PORT node audit.mjs
import { auditServer } from 'graphql-http';

const api = process.env.API_URL ?? 'http://127.0.0.1:8000';
setTimeout(() => {
  console.error('FAIL: the audits timed out after 60 s');
  process.exit(1);
}, 60_000).unref();

const results = await auditServer({ url: `${api}/graphql` });
const report = results.map(({ id, name, status, reason }) =>
  status === 'ok' ? { id, name, status } : { id, name, status, reason },
);
console.log(JSON.stringify(report));
