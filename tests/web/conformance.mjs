// The GraphQL-over-HTTP server audit of the graphql-http package (the reference
// implementation's own), against BASE_URL/graphql, once anonymously and once signed in.
// Every audit must pass: an error, a warning or a notice fails the run.
import { auditServer } from 'graphql-http';

const url = `${process.env.BASE_URL}/graphql`;
const login = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    query: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
    variables: { e: process.env.ADMIN_EMAIL, p: process.env.ADMIN_PASSWORD },
  }),
});
const token = (await login.json()).data.login.token;
let failed = 0;
for (const [who, authorization] of [['anonymous', null], ['signed in', `Bearer ${token}`]]) {
  const fetchFn = (input, init = {}) => {
    const headers = new Headers(init.headers || {});
    if (authorization) headers.set('authorization', authorization);
    return fetch(input, { ...init, headers });
  };
  const results = await auditServer({ url, fetchFn });
  const counts = {};
  for (const result of results) {
    counts[result.status] = (counts[result.status] || 0) + 1;
    if (result.status !== 'ok') {
      failed += 1;
      console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
    }
  }
  console.log(`graphql-http audit (${who}): ${JSON.stringify(counts)}`);
}
process.exit(failed ? 1 : 0);
